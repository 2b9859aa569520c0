from .base_referring_head import BaseReferringDecodeHead
from .dmols_head import DMOLSHead
from .existence_head import ExistenceHead
from .language_gated_head import LanguageGatedHead
from .lavt_head import LAVTHead
from .tbtd_head import TBTDHead

__all__ = [
    'BaseReferringDecodeHead', 'DMOLSHead', 'ExistenceHead', 'LAVTHead', 'LanguageGatedHead',
    'TBTDHead'
]
