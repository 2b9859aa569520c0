from .attention import CrossAttentionLayer, MSDeformAttention, SDPAttention
from .positional_encoding import sine_positional_encoding
from .text_utils import coord_grid, masked_mean

__all__ = [
    'CrossAttentionLayer', 'MSDeformAttention', 'SDPAttention', 'coord_grid', 'masked_mean',
    'sine_positional_encoding'
]
