"""SigLIP / SigLIP 2 text transformer of ``transformers`` as an mmrrsis text encoder."""
import math
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils.hf_models import adapt, hf_config
from ..utils.lora import load_base_weights


@MODELS.register_module()
class HFSiglipTextTower(BaseModule):
    """``transformers.SiglipTextModel`` with SigLIP's image-text logit scale and bias.

    :meth:`encode_text` gives the last hidden state after the final LayerNorm (B, L, C), the
    attention mask and ``pooled`` (B, C_p), the model's ``head`` applied to the **last**
    position. Under ``padding='longest'`` that position is a real token only for the batch's
    longest expression (the model was trained with 64-token ``max_length`` padding). The
    tokenizer must give at most ``max_position_embeddings`` tokens (64 for SigLIP 2); a longer
    input is an error naming the preprocessor setting.

    The architecture comes from ``config`` alone; :meth:`init_weights` reads ``pretrained``.

    Args:
        config (dict): ``transformers.SiglipTextConfig`` arguments.
        pretrained (str, optional): Hub name or local folder of a ``SiglipModel`` checkpoint
            (``logit_scale`` and ``logit_bias`` come with it when ``with_logit_params``), or of
            a ``SiglipTextModel`` without them. Defaults to None.
        with_logit_params (bool): Hold SigLIP's ``logit_scale`` and ``logit_bias``, (1, ) each,
            initialised at log 10 and -10 as SigLIP's. Defaults to True.
        frozen (bool): Freeze the model's own weights (not the logit parameters). Defaults to
            False.
        lora (dict, optional): :func:`~mmrrsis.models.utils.lora.add_lora` arguments.
            Defaults to None.
        with_cp (bool): Activation checkpointing of the encoder layers. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 config: dict,
                 pretrained: Optional[str] = None,
                 with_logit_params: bool = True,
                 frozen: bool = False,
                 lora: Optional[dict] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from transformers import SiglipTextModel
        self.pretrained = pretrained
        self.model = SiglipTextModel(hf_config('SiglipTextConfig', config, type(self).__name__))
        self.with_logit_params = with_logit_params
        if with_logit_params:
            self.logit_scale = nn.Parameter(torch.full((1, ), math.log(10.0)))
            self.logit_bias = nn.Parameter(torch.full((1, ), -10.0))
        adapt(self.model, lora, frozen, with_cp, type(self).__name__)

    @property
    def embed_dims(self) -> int:
        """int: token width C."""
        return self.model.config.hidden_size

    @property
    def max_length(self) -> int:
        """int: the most tokens an expression may have (the position table's size)."""
        return self.model.config.max_position_embeddings

    def init_weights(self):
        """Loads ``pretrained`` (the LoRA adapters keep their initialisation), then applies
        ``init_cfg``."""
        if self.pretrained:
            from transformers import AutoConfig, SiglipModel, SiglipTextModel
            if AutoConfig.from_pretrained(self.pretrained).model_type == 'siglip_text_model':
                if self.with_logit_params:
                    raise ValueError(f'{self.pretrained} is a SiglipTextModel without '
                                     'logit_scale / logit_bias: set with_logit_params=False')
                load_base_weights(self.model,
                                  SiglipTextModel.from_pretrained(self.pretrained).state_dict(),
                                  self.pretrained)
            else:
                source = SiglipModel.from_pretrained(self.pretrained)
                load_base_weights(self.model, source.text_model.state_dict(), self.pretrained)
                if self.with_logit_params:
                    with torch.no_grad():
                        self.logit_scale.copy_(source.logit_scale.view(1))
                        self.logit_bias.copy_(source.logit_bias.view(1))
        if self.init_cfg is not None:
            super().init_weights()

    def forward(self, input_ids: Tensor, attention_mask: Tensor):
        """Encodes (B, L) token ids; returns the (B, L, C) last hidden state and the (B, C_p)
        pooled output."""
        if input_ids.shape[1] > self.max_length:
            raise ValueError(f'{type(self).__name__}: {input_ids.shape[1]} tokens per expression, '
                             f'but the text model has {self.max_length} positions; set '
                             f'model.data_preprocessor.max_length <= {self.max_length}')
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state, out.pooler_output

    def encode_text(self, text: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Encodes the tokenized text of a batch.

        Args:
            text (dict): ``input_ids`` and ``attention_mask``, each (B, L).

        Returns:
            dict: ``feats`` (B, L, C), ``mask`` (B, L), ``pooled`` (B, C_p).
        """
        feats, pooled = self(text['input_ids'], text['attention_mask'])
        return dict(feats=feats, mask=text['attention_mask'], pooled=pooled)
