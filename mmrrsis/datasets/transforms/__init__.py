from .formatting import PackReferringInputs
from .key_phrase_masker import DEFAULT_KEY_PHRASE_LEXICON, KeyPhraseMasker
from .loading import LoadReferringAnnotations, LoadReferringImage
from .random_black_boxes import RandomBlackBoxes
from .referring_flip import ReferringRandomFlip, swap_direction_words

__all__ = [
    'LoadReferringAnnotations', 'LoadReferringImage', 'PackReferringInputs', 'RandomBlackBoxes',
    'ReferringRandomFlip',
    'swap_direction_words', 'KeyPhraseMasker', 'DEFAULT_KEY_PHRASE_LEXICON'
]
