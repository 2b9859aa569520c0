from .referring_encoder_decoder import ReferringEncoderDecoder, gather_text

__all__ = ['ReferringEncoderDecoder', 'gather_text']
