from .bidirectional_extractor import BidirectionalExtractor
from .stage_wise_extractor import StageWiseExtractor

__all__ = ['BidirectionalExtractor', 'StageWiseExtractor']
