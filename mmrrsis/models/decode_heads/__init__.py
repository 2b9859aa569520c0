from .base_referring_head import BaseReferringDecodeHead
from .dmols_head import DMOLSHead
from .language_gated_head import LanguageGatedHead
from .tbtd_head import TBTDHead

__all__ = ['BaseReferringDecodeHead', 'DMOLSHead', 'LanguageGatedHead', 'TBTDHead']
