"""SAM 2's prompt encoder and mask decoder of ``transformers``, fed with given embeddings."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmrrsis.registry import MODELS
from .hf_models import build_sam2_config


@MODELS.register_module()
class HFSam2MaskDecoder(BaseModule):
    """The decoding side of ``transformers.Sam2Model``, for prompts made by a model.

    Takes the maps of :class:`~mmrrsis.models.backbones.HFSam2ImageEncoder`, sparse prompt
    embeddings (B, N, C) and optionally a dense prompt, mask logits (B, 1, 4h, 4w) that the
    prompt encoder's ``mask_embed`` turns into (B, C, h, w) and adds to the image embedding.
    The image-wide positional encoding is computed for the actual (h, w), so no input size is
    fixed by the config. Returns the mask logits (B, 1, 4h, 4w) (or (B, 3, ...) with
    ``multimask_output``) and the predicted IoUs.

    In eval mode with one mask, ``Sam2MaskDecoder``'s stability check applies when
    ``dynamic_multimask_via_stability`` (the config's, on by default): where token 0's mask
    has |z > δ| / |z > -δ| below the threshold, the best of tokens 1-3 by predicted IoU
    replaces it.

    State-dict names are ``Sam2Model``'s: ``shared_image_embedding``, ``prompt_encoder``,
    ``mask_decoder`` (without ``conv_s0``/``conv_s1``, which the image encoder holds).

    Args:
        sam2_config (dict): ``transformers.Sam2Config`` arguments.
        pretrained (str, optional): Hub name or local folder of a ``Sam2Model`` checkpoint,
            read by :meth:`init_weights`. Defaults to None.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self, sam2_config: dict, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from transformers.models.sam2.modeling_sam2 import (Sam2MaskDecoder,
                                                            Sam2PositionalEmbedding,
                                                            Sam2PromptEncoder)
        self.pretrained = pretrained
        config = build_sam2_config(sam2_config, type(self).__name__)
        # Sam2Model hands the decoder its attention implementation; SDPA is its default
        config.mask_decoder_config._attn_implementation = \
            config._attn_implementation or 'sdpa'
        self.shared_image_embedding = Sam2PositionalEmbedding(config.prompt_encoder_config)
        self.prompt_encoder = Sam2PromptEncoder(config.prompt_encoder_config)
        self.mask_decoder = Sam2MaskDecoder(config.mask_decoder_config)
        del self.mask_decoder.conv_s0, self.mask_decoder.conv_s1

    @property
    def dynamic_multimask_via_stability(self) -> bool:
        """bool: Whether eval-mode single-mask output falls back on unstable masks."""
        return self.mask_decoder.dynamic_multimask_via_stability

    @dynamic_multimask_via_stability.setter
    def dynamic_multimask_via_stability(self, value: bool) -> None:
        self.mask_decoder.dynamic_multimask_via_stability = value

    def init_weights(self):
        """Loads the decoding side of ``pretrained``, then applies ``init_cfg``."""
        if self.pretrained:
            from transformers import Sam2Model
            source = Sam2Model.from_pretrained(self.pretrained)
            self.shared_image_embedding.load_state_dict(
                source.shared_image_embedding.state_dict())
            self.prompt_encoder.load_state_dict(source.prompt_encoder.state_dict())
            state = {k: v for k, v in source.mask_decoder.state_dict().items()
                     if not k.startswith(('conv_s0.', 'conv_s1.'))}
            self.mask_decoder.load_state_dict(state)
        if self.init_cfg is not None:
            super().init_weights()

    def image_positional_embeddings(self, size: Tuple[int, int]) -> Tensor:
        """(1, C, h, w) random-Fourier encoding of the cell centres of an (h, w) grid, as
        ``Sam2Model.get_image_wide_positional_embeddings`` for its configured size."""
        table = self.shared_image_embedding.positional_embedding
        grid = torch.ones(size, device=table.device, dtype=table.dtype)
        y = (grid.cumsum(dim=0) - 0.5) / size[0]
        x = (grid.cumsum(dim=1) - 0.5) / size[1]
        return self.shared_image_embedding(torch.stack([x, y], dim=-1)).permute(2, 0, 1)[None]

    def forward(self,
                feats: List[Tensor],
                sparse: Tensor,
                dense_logits: Optional[Tensor] = None,
                multimask_output: bool = False) -> Tuple[Tensor, Tensor]:
        """Decodes masks.

        Args:
            feats (list[Tensor]): [s0 (B, C/8, 4h, 4w), s1 (B, C/4, 2h, 2w),
                emb (B, C, h, w)].
            sparse (Tensor): (B, N, C) sparse prompt embeddings.
            dense_logits (Tensor, optional): (B, 1, 4h, 4w) mask prompt; None gives the
                no-mask embedding. Defaults to None.
            multimask_output (bool): Return tokens 1-3's masks. Defaults to False.

        Returns:
            tuple[Tensor, Tensor]: mask logits (B, M, 4h, 4w), IoU predictions (B, M), M = 1
            or 3.
        """
        s0, s1, emb = feats
        batch, _, h, w = emb.shape
        if dense_logits is None:
            dense = self.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                batch, -1, h, w)
        else:
            dense = self.prompt_encoder.mask_embed(dense_logits)
        pe = self.image_positional_embeddings((h, w)).to(emb.dtype).expand(batch, -1, -1, -1)
        masks, iou, _, _ = self.mask_decoder(
            image_embeddings=emb,
            image_positional_embeddings=pe,
            sparse_prompt_embeddings=sparse[:, None],
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output,
            high_resolution_features=[s0, s1])
        return masks[:, 0], iou[:, 0]
