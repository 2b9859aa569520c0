from .no_target_dataset import NoTargetDataset
from .refsegrs import REFSEGRS_CATEGORIES, RefSegRSDataset
from .rrsisd import RRSISD_CATEGORIES, RRSISDDataset
from .samplers import ResumableInfiniteSampler
from .transforms import (DEFAULT_KEY_PHRASE_LEXICON, KeyPhraseMasker, LoadReferringAnnotations,
                         LoadReferringImage, PackReferringInputs, ReferringRandomFlip,
                         swap_direction_words)
from .utils import category_from_expression

__all__ = [
    'RefSegRSDataset', 'RRSISDDataset', 'REFSEGRS_CATEGORIES', 'RRSISD_CATEGORIES',
    'LoadReferringAnnotations', 'LoadReferringImage', 'PackReferringInputs', 'ReferringRandomFlip',
    'swap_direction_words', 'category_from_expression', 'KeyPhraseMasker',
    'DEFAULT_KEY_PHRASE_LEXICON', 'ResumableInfiniteSampler', 'NoTargetDataset'
]
