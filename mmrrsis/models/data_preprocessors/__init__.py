from .referring_data_preprocessor import ReferringDataPreProcessor, build_tokenizer

__all__ = ['ReferringDataPreProcessor', 'build_tokenizer']
