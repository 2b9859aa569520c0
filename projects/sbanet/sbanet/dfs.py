"""SBANet's Dynamic Feature Selection block inside BAM (reconstructed, see the project README)."""
from typing import Optional, Sequence

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn

from mmrrsis.models.utils import masked_mean
from mmrrsis.registry import MODELS


@MODELS.register_module()
class DFS(BaseModule):
    """Dynamic Feature Selection: a local and a global view of a stage, mixed per channel.

    The paper says only that DFS supplies BAM with macro (global context) and micro (local
    detail) features selected dynamically; every operation below is a choice, not from the
    paper (see the project README)::

        micro  M = GELU(BN(DWConv3x3(X)))                                (B, C, h, w)
        macro  G = BN(Σ_s upsample(Conv1x1(AdaptiveAvgPool_s(X))))       s in pool_scales,
                                                              one Conv1x1 for every s
        u = GAP(M + G)  [+ Linear(masked mean of L)  when text_conditioned]     (B, C)
        z = ReLU(Norm(Linear_{C→C/r}(u)))
        [a_M, a_G] = softmax over the two branches of Linear_{C/r→2C}(z)        (B, 2, C)
        X̃ = X + a_M ⊙ M + a_G ⊙ G

    The selection's norm is a LayerNorm by default; ``select_norm_cfg=dict(type='BN1d')``
    gives a BatchNorm there.

    Args:
        channels (int): Channels C of the stage.
        text_channels (int): Word channels C_l, used when ``text_conditioned``.
            Defaults to 768.
        pool_scales (Sequence[int]): Output sizes of the macro branch's pools.
            Defaults to (1, 3, 6).
        reduction (int): C / width of the selection's hidden layer. Defaults to 4.
        text_conditioned (bool): Add the sentence to the selection's input (ablation;
            choice, not from the paper). Defaults to False.
        norm_cfg (dict): Norm of the two branches. Defaults to ``dict(type='BN')``.
        select_norm_cfg (dict): Norm of the selection's hidden layer.
            Defaults to ``dict(type='LN')``.
        align_corners (bool): Of the macro branch's upsampling. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 text_channels: int = 768,
                 pool_scales: Sequence[int] = (1, 3, 6),
                 reduction: int = 4,
                 text_conditioned: bool = False,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 select_norm_cfg: ConfigType = dict(type='LN'),
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if not pool_scales or any(s < 1 for s in pool_scales):
            raise ValueError(f'DFS pool_scales {tuple(pool_scales)} must be positive sizes')
        if reduction < 1 or channels // reduction < 1:
            raise ValueError(f'DFS reduction={reduction} leaves no hidden channel of '
                             f'channels={channels}')
        self.channels = channels
        self.text_channels = text_channels
        self.pool_scales = tuple(pool_scales)
        self.text_conditioned = text_conditioned
        self.align_corners = align_corners
        self.micro = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            build_norm_layer(norm_cfg, channels)[1], nn.GELU())
        # the norm after the sum takes the place of the convolution's bias
        self.macro_conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.macro_norm = build_norm_layer(norm_cfg, channels)[1]
        hidden = channels // reduction
        self.text_proj = nn.Linear(text_channels, channels) if text_conditioned else None
        self.squeeze = nn.Sequential(
            nn.Linear(channels, hidden), build_norm_layer(select_norm_cfg, hidden)[1],
            nn.ReLU(inplace=True))
        self.select = nn.Linear(hidden, 2 * channels)

    def macro(self, x: Tensor) -> Tensor:
        """G, the pooled context of every scale back at the map size; (B, C, h, w)."""
        size = x.shape[2:]
        # the convolution runs on the pooled maps (it commutes with the upsampling)
        context = sum(
            F.interpolate(self.macro_conv(F.adaptive_avg_pool2d(x, scale)), size=size,
                          mode='bilinear', align_corners=self.align_corners)
            for scale in self.pool_scales)
        return self.macro_norm(context)

    def branch_weights(self,
                       micro: Tensor,
                       macro: Tensor,
                       text: Optional[Tensor] = None,
                       text_mask: Optional[Tensor] = None) -> Tensor:
        """The selection [a_M, a_G].

        Args:
            micro (Tensor): (B, C, h, w) local branch M.
            macro (Tensor): (B, C, h, w) global branch G.
            text (Tensor, optional): (B, Nt, C_l) words; required when
                ``text_conditioned``. Defaults to None.
            text_mask (Tensor, optional): (B, Nt), 1 for real tokens. Defaults to None.

        Returns:
            Tensor: (B, 2, C) weights of M (index 0) and G (index 1), summing to 1 over the
            two branches for every sample and channel.
        """
        summary = (micro + macro).mean((2, 3))
        if self.text_proj is not None:
            if text is None or text_mask is None:
                raise ValueError('DFS(text_conditioned=True) needs the text and its mask')
            summary = summary + self.text_proj(masked_mean(text, text_mask))
        logits = self.select(self.squeeze(summary)).view(-1, 2, self.channels)
        return logits.softmax(dim=1)

    def forward(self,
                x: Tensor,
                text: Optional[Tensor] = None,
                text_mask: Optional[Tensor] = None) -> Tensor:
        """Adds the selected mix of local detail and global context to a stage.

        Args:
            x (Tensor): (B, C, h, w) stage features X.
            text (Tensor, optional): (B, Nt, C_l) words, read only when
                ``text_conditioned``. Defaults to None.
            text_mask (Tensor, optional): (B, Nt), 1 for real tokens. Defaults to None.

        Returns:
            Tensor: (B, C, h, w) X̃.
        """
        if x.shape[1] != self.channels:
            raise ValueError(f'DFS built for {self.channels} channels got {x.shape[1]}')
        micro = self.micro(x)
        macro = self.macro(x)
        weights = self.branch_weights(micro, macro, text, text_mask)
        return x + weights[:, 0, :, None, None] * micro + weights[:, 1, :, None, None] * macro

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, pool_scales={self.pool_scales}, '
                f'text_conditioned={self.text_conditioned}')
