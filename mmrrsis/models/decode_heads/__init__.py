from .base_referring_head import BaseReferringDecodeHead
from .language_gated_head import LanguageGatedHead

__all__ = ['BaseReferringDecodeHead', 'LanguageGatedHead']
