"""Baseline head: visual pyramid fused, then gated by the sentence (no V-L correlation)."""
from typing import Dict, List

import torch
from mmcv.cnn import ConvModule
from mmseg.models.utils import resize
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils import coord_grid, masked_mean
from .base_referring_head import BaseReferringDecodeHead


@MODELS.register_module()
class LanguageGatedHead(BaseReferringDecodeHead):
    """Language-gated decoder for the "no-correlation" pipeline (BTDNet paper, Fig. 1a).

    Image and text are encoded apart; the head sums the projected pyramid levels at the
    finest resolution, appends x/y coordinates (spatial words need them), and modulates the
    map with a FiLM gate computed from the mean token feature and with a per-pixel
    similarity to each token, before a few convolutions predict background/target.

    Args:
        text_channels (int): Width of the text features C_l. Defaults to 768.
        num_convs (int): 3x3 convolutions after fusion. Defaults to 2.
        **kwargs: Passed to :class:`BaseDecodeHead`; use ``input_transform='multiple_select'``
            with one ``in_channels`` entry per level.
    """

    def __init__(self, text_channels: int = 768, num_convs: int = 2, **kwargs):
        super().__init__(**kwargs)
        in_channels = self.in_channels if isinstance(self.in_channels, (list, tuple)) \
            else [self.in_channels]
        self.lateral = nn.ModuleList(
            ConvModule(c, self.channels, 1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg) for c in in_channels)
        self.text_proj = nn.Linear(text_channels, self.channels)
        self.film = nn.Linear(text_channels, 2 * self.channels)
        self.fuse = nn.Sequential(*[
            ConvModule(self.channels + 3 if i == 0 else self.channels, self.channels, 3,
                       padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg) for i in range(num_convs)
        ])

    def forward(self, inputs: List[Tensor], text_feats: Dict[str, Tensor]) -> Tensor:
        """Fuses the pyramid and the text.

        Args:
            inputs (list[Tensor]): (B, C_i, H_i, W_i) visual features.
            text_feats (dict): ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt).

        Returns:
            Tensor: (B, num_classes, H_0, W_0) logits at the finest level's size.
        """
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        x = sum(resize(lat(f), size=size, mode='bilinear', align_corners=self.align_corners)
                for lat, f in zip(self.lateral, feats))
        words, mask = text_feats['feats'], text_feats['mask']
        sentence = masked_mean(words, mask)
        gamma, beta = self.film(sentence).chunk(2, dim=1)
        x = x * (1 + torch.tanh(gamma))[..., None, None] + beta[..., None, None]
        # Attention of every pixel over the tokens gives one text-similarity map.
        keys = self.text_proj(words)
        sim = torch.einsum('bchw,btc->bthw', x, keys) / self.channels**0.5
        sim = sim.masked_fill(~mask.bool()[:, :, None, None], float('-inf'))
        response = (sim.softmax(dim=1) * sim.nan_to_num(0.0, neginf=0.0)).sum(1, keepdim=True)
        coords = coord_grid(x.shape[0], size[0], size[1], x.device, x.dtype)
        x = self.fuse(torch.cat([x, coords, response], dim=1))
        return self.cls_seg(x)
