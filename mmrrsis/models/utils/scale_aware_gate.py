"""The scale-aware gate that ends RMSIN's cross-scale interaction (CIM) and FIANet's TMEM."""
import torch.nn.functional as F
from torch import Tensor, nn


class ScaleAwareGate(nn.Module):
    """Re-weights one scale's features by a coarse global map and adds that map.

    With Y (B, C_in, h, w) the features of one scale and G (B, C_g, h_g, w_g) its slice of the
    coarse cross-scale map::

        out = BN(conv(Y)) ⊙ up(hsigmoid(BN(conv'(G)))) + up(BN(conv''(G)))

    three separate 1x1 convolutions with bias, ``hsigmoid(x) = ReLU6(x + 3) / 6``, and ``up``
    bilinear (align_corners False) to h x w, applied after the activation. There is no identity
    shortcut from Y, as in both published codes.

    Args:
        in_channels (int): Channels C_in of the scale's features Y.
        out_channels (int): Output channels. Defaults to ``in_channels``.
        global_channels (int): Channels C_g of G. Defaults to ``in_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int = None, global_channels: int = None):
        super().__init__()
        out_channels = out_channels or in_channels
        global_channels = global_channels or in_channels
        self.local_proj = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.global_proj = nn.Sequential(
            nn.Conv2d(global_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.global_gate = nn.Sequential(
            nn.Conv2d(global_channels, out_channels, 1), nn.BatchNorm2d(out_channels),
            nn.Hardsigmoid())

    def forward(self, local_feats: Tensor, global_feats: Tensor) -> Tensor:
        """Gates one scale.

        Args:
            local_feats (Tensor): (B, C_in, h, w) Y.
            global_feats (Tensor): (B, C_g, h_g, w_g) G.

        Returns:
            Tensor: (B, out_channels, h, w).
        """
        size = local_feats.shape[-2:]

        def up(x: Tensor) -> Tensor:
            return F.interpolate(x, size=size, mode='bilinear', align_corners=False)

        return (self.local_proj(local_feats) * up(self.global_gate(global_feats)) +
                up(self.global_proj(global_feats)))
