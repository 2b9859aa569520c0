"""BERT language encoder that can run as a whole or stage by stage (for per-stage fusion)."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from mmrrsis.registry import MODELS


@MODELS.register_module()
class BertTextEncoder(BaseModule):
    """Wraps a HuggingFace ``BertModel``.

    Used whole by :class:`ReferringEncoderDecoder` (baseline models) and stage by stage by
    BTDNet's bidirectional extractor, where fusion modules sit between groups of layers.

    Args:
        name_or_path (str): HF model name or local folder. Defaults to 'bert-base-uncased'.
        pretrained (bool): Take the architecture from ``name_or_path``'s ``config.json`` and
            load its weights in :meth:`init_weights` (downloads on first use when it is a hub
            name). As with mmseg's ``init_cfg``, the weights are loaded when a training run
            initialises the model, not at build time, so testing or inference from a
            checkpoint never reads (or downloads) them only to overwrite them. When False the
            model is built with random weights from ``bert_config`` alone, without touching
            the network. Defaults to True.
        bert_config (dict, optional): ``transformers.BertConfig`` arguments; the defaults of
            ``BertConfig`` are exactly bert-base-uncased. Only used when ``pretrained=False``.
        stages (Sequence[int]): Number of layers in each stage; must sum to the number of
            layers. Defaults to (3, 3, 3, 3).
        freeze_embeddings (bool): Keep the embeddings fixed (``requires_grad=False``).
            Defaults to False.
        frozen_layers (Sequence[int]): Indices of encoder layers kept fixed. The LAVT-lineage
            training scripts put only BERT's layers 0-9 in the optimizer, so the embeddings and
            layers 10-11 never change; ``freeze_embeddings=True, frozen_layers=(10, 11)``
            reproduces that (dropout still acts in those layers, as there) and saves their
            weight gradients. Defaults to ().
        attn_implementation (str): transformers' self-attention, ``'sdpa'`` (fused
            ``scaled_dot_product_attention``) or ``'eager'`` (explicit softmax); equal up to
            float order. Defaults to 'sdpa'.
        with_cp (bool): Activation checkpointing: in training, each layer keeps only its
            input and recomputes the rest in the backward pass. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 name_or_path: str = 'bert-base-uncased',
                 pretrained: bool = True,
                 bert_config: Optional[dict] = None,
                 stages: Sequence[int] = (3, 3, 3, 3),
                 freeze_embeddings: bool = False,
                 frozen_layers: Sequence[int] = (),
                 attn_implementation: str = 'sdpa',
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        from transformers import BertConfig, BertModel
        self.name_or_path = name_or_path
        self.pretrained = pretrained
        config = BertConfig.from_pretrained(name_or_path) if pretrained else \
            BertConfig(**(bert_config or {}))
        self.bert = BertModel(config, add_pooling_layer=False)
        self.set_attn_implementation(attn_implementation)
        self.with_cp = with_cp
        num_layers = self.bert.config.num_hidden_layers
        if sum(stages) != num_layers:
            raise ValueError(f'BertTextEncoder stages {tuple(stages)} sum to {sum(stages)} '
                             f'but the BERT model has {num_layers} layers')
        self.stages = tuple(stages)
        bounds = torch.tensor((0, ) + self.stages).cumsum(0).tolist()
        self._stage_bounds = list(zip(bounds[:-1], bounds[1:]))
        bad = [i for i in frozen_layers if not 0 <= i < num_layers]
        if bad:
            raise ValueError(f'BertTextEncoder frozen_layers {bad} are not layers of a '
                             f'{num_layers}-layer BERT')
        self.freeze_embeddings = freeze_embeddings
        self.frozen_layers = tuple(frozen_layers)
        frozen = [self.bert.embeddings] if freeze_embeddings else []
        frozen += [self.bert.encoder.layer[i] for i in self.frozen_layers]
        for module in frozen:
            module.requires_grad_(False)

    @property
    def embed_dims(self) -> int:
        """int: hidden width of the encoder (768 for BERT-base)."""
        return self.bert.config.hidden_size

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def set_attn_implementation(self, attn_implementation: str) -> None:
        """Switches the self-attention of every layer: ``'sdpa'`` or ``'eager'``."""
        if attn_implementation not in ('sdpa', 'eager'):
            raise ValueError(f'BertTextEncoder: attn_implementation must be \'sdpa\' or '
                             f'\'eager\', got {attn_implementation!r}')
        self.bert.set_attn_implementation(attn_implementation)

    @property
    def attn_implementation(self) -> str:
        """str: the self-attention in use, ``'sdpa'`` or ``'eager'``."""
        return self.bert.config._attn_implementation

    def init_weights(self):
        """Loads the pretrained weights (``pretrained=True``), then applies ``init_cfg``.

        Without either, BERT keeps HF's own initialisation; mmengine's generic
        initialisation never touches it.
        """
        if self.pretrained:
            from transformers import BertModel
            source = BertModel.from_pretrained(self.name_or_path, add_pooling_layer=False)
            self.bert.load_state_dict(source.state_dict())
        if self.init_cfg is not None:
            super().init_weights()

    def embed(self, input_ids: Tensor) -> Tensor:
        """Token + position + segment embeddings.

        Args:
            input_ids (Tensor): (B, Nt) token ids.

        Returns:
            Tensor: (B, Nt, C_l) embeddings.
        """
        return self.bert.embeddings(input_ids=input_ids)

    @staticmethod
    def additive_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
        """Turns a (B, Nt) 0/1 mask into the (B, 1, 1, Nt) additive mask BERT layers take."""
        mask = attention_mask[:, None, None, :].to(dtype)
        return (1.0 - mask) * torch.finfo(dtype).min

    def forward_stage(self, stage: int, hidden: Tensor, attention_mask: Tensor) -> Tensor:
        """Runs the layers of one stage.

        Args:
            stage (int): Stage index in ``[0, num_stages)``.
            hidden (Tensor): (B, Nt, C_l) input of the stage.
            attention_mask (Tensor): (B, Nt) 1 for real tokens, 0 for padding.

        Returns:
            Tensor: (B, Nt, C_l) output of the stage.
        """
        mask = self.additive_mask(attention_mask, hidden.dtype)
        start, end = self._stage_bounds[stage]
        recompute = self.with_cp and self.training and torch.is_grad_enabled()
        for layer in self.bert.encoder.layer[start:end]:
            out = checkpoint(layer, hidden, mask, use_reentrant=False) if recompute else \
                layer(hidden, mask)
            # transformers < 5 returns a tuple, >= 5 the tensor itself
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Encodes a batch of token ids with all layers.

        Args:
            input_ids (Tensor): (B, Nt) token ids.
            attention_mask (Tensor): (B, Nt) 1 for real tokens, 0 for padding.

        Returns:
            Tensor: (B, Nt, C_l) last hidden state.
        """
        hidden = self.embed(input_ids)
        for stage in range(self.num_stages):
            hidden = self.forward_stage(stage, hidden, attention_mask)
        return hidden

    def encode_text(self, text: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Encodes the tokenized text of a batch.

        Args:
            text (dict): ``input_ids`` and ``attention_mask``, each (B, Nt).

        Returns:
            dict: ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt).
        """
        feats = self(text['input_ids'], text['attention_mask'])
        return dict(feats=feats, mask=text['attention_mask'])
