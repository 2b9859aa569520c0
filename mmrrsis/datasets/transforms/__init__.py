from .formatting import PackReferringInputs
from .loading import LoadReferringAnnotations
from .referring_flip import ReferringRandomFlip, swap_direction_words

__all__ = [
    'LoadReferringAnnotations', 'PackReferringInputs', 'ReferringRandomFlip',
    'swap_direction_words'
]
