from .attention import CrossAttentionLayer, MSDeformAttention, SDPAttention
from .cross_scale_mixer import CrossScaleMixer
from .hf_sam2_mask_decoder import HFSam2MaskDecoder
from .lora import add_lora, load_base_weights, lora_layers, merge_lora
from .pixel_word_attention import LanguageGate, PixelWordAttention, pixel_instance_norm
from .positional_encoding import sine_positional_encoding
from .scale_aware_gate import ScaleAwareGate
from .text_feats import TextFeats, gather_text, takes_text, text_item
from .text_utils import coord_grid, masked_mean

__all__ = [
    'CrossAttentionLayer', 'CrossScaleMixer', 'HFSam2MaskDecoder', 'LanguageGate',
    'MSDeformAttention', 'PixelWordAttention', 'SDPAttention', 'ScaleAwareGate', 'TextFeats',
    'add_lora', 'coord_grid', 'gather_text', 'load_base_weights', 'lora_layers', 'masked_mean',
    'merge_lora', 'pixel_instance_norm', 'sine_positional_encoding', 'takes_text', 'text_item'
]
