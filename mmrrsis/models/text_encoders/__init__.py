from .bert_text_encoder import BertTextEncoder
from .hf_siglip_text_tower import HFSiglipTextTower

__all__ = ['BertTextEncoder', 'HFSiglipTextTower']
