from .existence_encoder_decoder import ExistenceEncoderDecoder
from .referring_encoder_decoder import ReferringEncoderDecoder, scores_masks

__all__ = ['ExistenceEncoderDecoder', 'ReferringEncoderDecoder', 'scores_masks']
