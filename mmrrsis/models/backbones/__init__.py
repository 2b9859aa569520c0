from .bidirectional_extractor import BidirectionalExtractor
from .hf_sam2_image_encoder import HFSam2ImageEncoder
from .hf_siglip_vision_tower import HFSiglipVisionTower
from .stage_wise_extractor import StageWiseExtractor

__all__ = [
    'BidirectionalExtractor', 'HFSam2ImageEncoder', 'HFSiglipVisionTower', 'StageWiseExtractor'
]
