"""The per-scale feed-forward step (IFF) of RMSIN's cross-scale interaction (CIM)."""
from typing import Sequence

import torch
from torch import Tensor, nn

from .conv_feed_forward import ConvFeedForward


class IntraScaleFeedForward(nn.Module):
    """One residual :class:`ConvFeedForward` per scale's slice of the channels.

    The channels are split into the given widths (one slice per input scale) and each slice
    returns ``Z_j + FFN_j(Z_j)``. Inside a CIM block, which adds its own residual, the step is
    therefore ``2 Z + FFN(Z)``, as in the published code.

    Args:
        split_channels (Sequence[int]): Width of each slice.
        mlp_ratio (int): Hidden width of each FFN over its slice's. Defaults to 2.
    """

    def __init__(self, split_channels: Sequence[int], mlp_ratio: int = 2):
        super().__init__()
        self.split_channels = list(split_channels)
        self.ffns = nn.ModuleList(
            [ConvFeedForward(c, mlp_ratio * c) for c in self.split_channels])

    def forward(self, x: Tensor) -> Tensor:
        """(B, Σ c_j, h, w) -> (B, Σ c_j, h, w)."""
        parts = x.split(self.split_channels, dim=1)
        return torch.cat([z + ffn(z) for z, ffn in zip(parts, self.ffns)], dim=1)
