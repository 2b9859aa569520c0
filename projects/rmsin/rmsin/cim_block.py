"""One block of RMSIN's cross-scale interaction (CIM)."""
from typing import Sequence, Tuple

from torch import Tensor, nn

from .conv_feed_forward import ConvFeedForward
from .cross_scale_attention import CrossScaleAttention
from .intra_scale_feed_forward import IntraScaleFeedForward


class CIMBlock(nn.Module):
    """Four residual steps on the pooled multi-scale map Z (B, D, g_h, g_w)::

        Z += CSA₁(Z);  Z += IFF(Z);  Z += CSA₂(Z);  Z += FFN(Z)

    CSA: :class:`CrossScaleAttention`; IFF: :class:`IntraScaleFeedForward` over the scales'
    channel slices; FFN: :class:`ConvFeedForward` of hidden width ``mlp_ratio`` D.

    Args:
        channels (int): D.
        split_channels (Sequence[int]): The scales' slices of D.
        grid (tuple[int, int]): (g_h, g_w).
        mlp_ratio (int): Hidden width of the feed-forwards over their input's. Defaults to 2.
        **attn_kwargs: ``num_heads``, ``key_channels``, ``value_ratio`` of the attention.
    """

    def __init__(self,
                 channels: int,
                 split_channels: Sequence[int],
                 grid: Tuple[int, int],
                 mlp_ratio: int = 2,
                 **attn_kwargs):
        super().__init__()
        self.csa1 = CrossScaleAttention(channels, grid, **attn_kwargs)
        self.iff = IntraScaleFeedForward(split_channels, mlp_ratio)
        self.csa2 = CrossScaleAttention(channels, grid, **attn_kwargs)
        self.ffn = ConvFeedForward(channels, mlp_ratio * channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B, D, g_h, g_w) -> (B, D, g_h, g_w)."""
        x = x + self.csa1(x)
        x = x + self.iff(x)
        x = x + self.csa2(x)
        return x + self.ffn(x)
