from .jsonl import ReferringJsonlDataset
from .no_target_dataset import NoTargetDataset
from .nwpu_refer import NWPUReferDataset
from .refsegrs import REFSEGRS_CATEGORIES, RefSegRSDataset
from .risbench import RISBENCH_CATEGORIES, RISBENCH_LEXICON, RISBenchDataset
from .rrsisd import RRSISD_CATEGORIES, RRSISDDataset
from .rrsishr import RRSISHRDataset
from .samplers import ResumableInfiniteSampler
from .transforms import (DEFAULT_KEY_PHRASE_LEXICON, KeyPhraseMasker, LoadReferringAnnotations,
                         LoadReferringImage, PackReferringInputs, ReferringRandomFlip,
                         swap_direction_words)
from .utils import category_by_first_match, category_from_expression

__all__ = [
    'RefSegRSDataset', 'RRSISDDataset', 'REFSEGRS_CATEGORIES', 'RRSISD_CATEGORIES',
    'LoadReferringAnnotations', 'LoadReferringImage', 'PackReferringInputs', 'ReferringRandomFlip',
    'swap_direction_words', 'category_from_expression', 'KeyPhraseMasker',
    'DEFAULT_KEY_PHRASE_LEXICON', 'ResumableInfiniteSampler', 'NoTargetDataset',
    'RISBenchDataset', 'RISBENCH_CATEGORIES', 'RISBENCH_LEXICON', 'ReferringJsonlDataset',
    'category_by_first_match', 'RRSISHRDataset', 'NWPUReferDataset'
]
