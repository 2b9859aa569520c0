"""SBANet's text-conditioned channel and spatial aggregator between the encoder and the
decoder (reconstructed, see the project README)."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn

from mmrrsis.models.utils import masked_mean
from mmrrsis.registry import MODELS


@MODELS.register_module()
class TSCA(BaseModule):
    """Text-conditioned channel and Spatial Aggregator: the levels exchange information
    under channel and spatial attention driven by the sentence, before decoding.

    The paper applies text-guided channel and spatial attention before the decoder; the
    operations are a choice, not from the paper (see the project README). With levels F_i
    (B, C_i, h_i, w_i), s the masked mean of the final words (B, C_l) and D = ``channels``::

        P_i = ReLU(BN(Conv1x1(F_i)))  resized to level ``grid_index`` (stride 8): adaptive
              average pooling to shrink, bilinear to grow; Z = [P_1; ...; P_n]  (B, nD, h, w)
        channel  w = σ(MLP([GAP(Z); t_c]) + MLP([GMP(Z); t_c])),  t_c = Linear(s)
                 MLP (n+1)D → D → nD, ReLU;  Z ← Z ⊙ w
        spatial  R = cos(Conv1x1_{nD→D}(Z), Linear(s))  per pixel
                 S = σ(Conv7x7([mean_c Z; max_c Z; R]));  Z ← Z ⊙ S
        A = ReLU(BN(Conv3x3_{nD→D}(Z)))
        F'_i = F_i + Conv1x1_{D→C_i}(A resized to level i)

    The channel attention takes CBAM's form (one MLP on each pooled vector, summed). The
    output convolutions start at zero: TSCA is the identity at initialisation, and the
    decoder gets the levels in their own shapes.

    Args:
        in_channels (Sequence[int]): Channels C_i of the levels, finest first.
            Defaults to (128, 256, 512, 1024).
        channels (int): Width D of each level in the aggregate. Defaults to 256.
        text_channels (int): Word channels C_l. Defaults to 768.
        grid_index (int): Level whose grid the aggregate lives on. Defaults to 1 (stride 8
            for a Swin).
        kernel_size (int): Of the spatial attention's convolution. Defaults to 7.
        norm_cfg (dict): Norm of the lateral and aggregating convolutions.
            Defaults to ``dict(type='BN')``.
        align_corners (bool): Of the bilinear resizes. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text = True

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 channels: int = 256,
                 text_channels: int = 768,
                 grid_index: int = 1,
                 kernel_size: int = 7,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        if not 0 <= grid_index < len(self.in_channels):
            raise ValueError(f'TSCA grid_index={grid_index} is not a level of '
                             f'in_channels={self.in_channels}')
        if kernel_size % 2 == 0:
            raise ValueError(f'TSCA kernel_size={kernel_size} must be odd')
        self.channels = channels
        self.grid_index = grid_index
        self.align_corners = align_corners
        width = channels * len(self.in_channels)
        self.laterals = nn.ModuleList(
            ConvModule(c, channels, 1, norm_cfg=norm_cfg) for c in self.in_channels)
        self.channel_text = nn.Linear(text_channels, channels)
        self.channel_mlp = nn.Sequential(
            nn.Linear(width + channels, channels), nn.ReLU(inplace=True),
            nn.Linear(channels, width))
        self.spatial_text = nn.Linear(text_channels, channels)
        self.spatial_proj = nn.Conv2d(width, channels, 1)
        self.spatial_conv = nn.Conv2d(3, 1, kernel_size, padding=kernel_size // 2)
        self.aggregate = ConvModule(width, channels, 3, padding=1, norm_cfg=norm_cfg)
        self.outputs = nn.ModuleList(nn.Conv2d(channels, c, 1) for c in self.in_channels)
        self._close_outputs()

    def _close_outputs(self) -> None:
        for conv in self.outputs:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def init_weights(self) -> None:
        """mmengine initialisation of the children (ConvModule re-initialises its conv),
        then the output convolutions back to zero."""
        super().init_weights()
        self._close_outputs()

    def _resize(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        if tuple(x.shape[2:]) == tuple(size):
            return x
        if x.shape[2] >= size[0] and x.shape[3] >= size[1]:
            return F.adaptive_avg_pool2d(x, size)
        return F.interpolate(x, size=size, mode='bilinear', align_corners=self.align_corners)

    def channel_weights(self, z: Tensor, sentence: Tensor) -> Tensor:
        """w, (B, nD, 1, 1) in (0, 1), from the pooled aggregate (B, nD, h, w) and the
        sentence (B, C_l)."""
        text = self.channel_text(sentence)
        logits = sum(
            self.channel_mlp(torch.cat([pooled, text], dim=1))
            for pooled in (z.mean((2, 3)), z.amax((2, 3))))
        return torch.sigmoid(logits)[..., None, None]

    def spatial_weights(self, z: Tensor, sentence: Tensor) -> Tensor:
        """S, (B, 1, h, w) in (0, 1), from the aggregate (B, nD, h, w) and the sentence."""
        text = self.spatial_text(sentence)[..., None, None]
        relevance = F.cosine_similarity(self.spatial_proj(z), text, dim=1)[:, None]
        stats = torch.cat([z.mean(1, keepdim=True), z.amax(1, keepdim=True), relevance], 1)
        return torch.sigmoid(self.spatial_conv(stats))

    def forward(self, inputs: Sequence[Tensor], text_feats: Dict[str, Tensor]) -> List[Tensor]:
        """Refines the levels with the sentence.

        Args:
            inputs (Sequence[Tensor]): Levels F_i, (B, C_i, h_i, w_i), finest first.
            text_feats (dict): ``feats`` (B, Nt, C_l) final words and ``mask`` (B, Nt).

        Returns:
            list[Tensor]: F'_i, each in the shape of F_i.
        """
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'TSCA built for {len(self.in_channels)} levels got '
                             f'{len(inputs)}')
        sentence = masked_mean(text_feats['feats'], text_feats['mask'])
        size = tuple(inputs[self.grid_index].shape[2:])
        z = torch.cat([
            self._resize(lateral(x), size) for lateral, x in zip(self.laterals, inputs)
        ], dim=1)
        z = z * self.channel_weights(z, sentence)
        z = z * self.spatial_weights(z, sentence)
        aggregate = self.aggregate(z)
        return [
            x + out(self._resize(aggregate, tuple(x.shape[2:])))
            for x, out in zip(inputs, self.outputs)
        ]

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, channels={self.channels}, '
                f'grid_index={self.grid_index}')
