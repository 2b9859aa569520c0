from .refsegrs import REFSEGRS_CATEGORIES, RefSegRSDataset
from .rrsisd import RRSISD_CATEGORIES, RRSISDDataset
from .transforms import (DEFAULT_KEY_PHRASE_LEXICON, KeyPhraseMasker, LoadReferringAnnotations,
                         PackReferringInputs, ReferringRandomFlip, swap_direction_words)
from .utils import category_from_expression

__all__ = [
    'RefSegRSDataset', 'RRSISDDataset', 'REFSEGRS_CATEGORIES', 'RRSISD_CATEGORIES',
    'LoadReferringAnnotations', 'PackReferringInputs', 'ReferringRandomFlip',
    'swap_direction_words', 'category_from_expression', 'KeyPhraseMasker',
    'DEFAULT_KEY_PHRASE_LEXICON'
]
