from .bidirectional_extractor import BidirectionalExtractor

__all__ = ['BidirectionalExtractor']
