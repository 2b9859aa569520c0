from .attention import CrossAttentionLayer, MSDeformAttention, SDPAttention
from .cross_scale_mixer import CrossScaleMixer
from .pixel_word_attention import LanguageGate, PixelWordAttention, pixel_instance_norm
from .positional_encoding import sine_positional_encoding
from .scale_aware_gate import ScaleAwareGate
from .text_feats import TextFeats, gather_text, takes_text, text_item
from .text_utils import coord_grid, masked_mean

__all__ = [
    'CrossAttentionLayer', 'CrossScaleMixer', 'LanguageGate', 'MSDeformAttention',
    'PixelWordAttention',
    'SDPAttention', 'ScaleAwareGate', 'TextFeats', 'coord_grid', 'gather_text', 'masked_mean',
    'pixel_instance_norm', 'sine_positional_encoding', 'takes_text', 'text_item'
]
