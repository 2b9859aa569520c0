"""The cross-scale attention of RMSIN's CIM, with the published code's tensor layouts."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def coarse_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output side of a convolution."""
    return (size + 2 * padding - kernel) // stride + 1


class CrossScaleAttention(nn.Module):
    """Attention from a g_h x g_w map over itself and two strided copies of it.

    With Z (B, D, g_h, g_w)::

        Z0 = BN(Z)
        Z1 = BN(dwconv3x3 stride 2 (Z0)),  Z2 = BN(dwconv5x5 stride 3 (Z0))
        T  = [Z0; Z1; Z2] as N tokens of width D                         (B, N, D)
        q, k, v = per-head slices of BN1d(W T)           (key, key, value_ratio * key per head)
        O  = softmax(q kᵀ / √key) v                                      (B, heads, N, dv)
        a  = Linear_{N -> G}(O read as (B, heads·dv, N))                 G = g_h g_w
        b  = dwconv3x3(Hardswish(v[:, :, :G] read as (B, heads·dv, g_h, g_w)))
        out = conv1x1(Hardswish(BN(Linear_{heads·dv -> D}((a + b)ᵀ) as (B, D, g_h, g_w))))

    The two "read as" steps keep the memory order of the (B, N, heads, dv) and
    (B, heads, G, dv) tensors and reinterpret it, which mixes tokens with channels: this is
    what the published RMSIN code computes, and what its weights were trained for, so it is
    reproduced exactly. The token projection ties the module to one grid (15 x 15 at 480 px).

    Args:
        channels (int): D.
        grid (tuple[int, int]): (g_h, g_w) of Z.
        num_heads (int): Heads. Defaults to 8.
        key_channels (int): Query/key width per head. Defaults to 32.
        value_ratio (int): Value width per head over the key width. Defaults to 2.
    """

    def __init__(self,
                 channels: int,
                 grid: Tuple[int, int],
                 num_heads: int = 8,
                 key_channels: int = 32,
                 value_ratio: int = 2):
        super().__init__()
        self.grid = tuple(grid)
        self.num_heads = num_heads
        self.key_channels = key_channels
        self.head_value_channels = value_ratio * key_channels
        self.value_channels = num_heads * self.head_value_channels
        qkv_channels = num_heads * (2 * key_channels + self.head_value_channels)
        self.in_bn = nn.BatchNorm2d(channels)
        self.down2 = nn.Sequential(
            nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels),
            nn.BatchNorm2d(channels))
        self.down3 = nn.Sequential(
            nn.Conv2d(channels, channels, 5, stride=3, padding=2, groups=channels),
            nn.BatchNorm2d(channels))
        self.qkv = nn.Linear(channels, qkv_channels, bias=False)
        self.qkv_bn = nn.BatchNorm1d(qkv_channels)
        self.value_conv = nn.Conv2d(self.value_channels, self.value_channels, 3, padding=1,
                                    groups=self.value_channels)
        num_pixels = self.grid[0] * self.grid[1]
        num_tokens = num_pixels + sum(
            coarse_size(self.grid[0], k, s, p) * coarse_size(self.grid[1], k, s, p)
            for k, s, p in ((3, 2, 1), (5, 3, 2)))
        self.token_proj = nn.Linear(num_tokens, num_pixels)
        self.value_proj = nn.Linear(self.value_channels, channels)
        self.out_bn = nn.BatchNorm2d(channels)
        self.out_conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, D, g_h, g_w) -> (B, D, g_h, g_w), without residual."""
        batch, channels, height, width = x.shape
        if (height, width) != self.grid:
            raise ValueError(f'CrossScaleAttention built for a {self.grid[0]}x{self.grid[1]} '
                             f'grid got a {height}x{width} map')
        x0 = self.in_bn(x)
        tokens = torch.cat([x0.flatten(2), self.down2(x0).flatten(2),
                            self.down3(x0).flatten(2)], dim=2).transpose(1, 2)
        num_tokens = tokens.shape[1]
        qkv = self.qkv(tokens)
        qkv = self.qkv_bn(qkv.flatten(0, 1)).view(batch, num_tokens, self.num_heads, -1)
        query, key, value = qkv.split(
            [self.key_channels, self.key_channels, self.head_value_channels], dim=3)
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))
        attn = F.softmax((query @ key.transpose(-2, -1)) * self.key_channels**-0.5, dim=-1)
        mixed = (attn @ value).transpose(1, 2).reshape(batch, self.value_channels, num_tokens)
        local = value[:, :, :height * width].reshape(batch, self.value_channels, height, width)
        local = self.value_conv(F.hardswish(local)).flatten(2)
        out = self.value_proj((self.token_proj(mixed) + local).transpose(1, 2))
        out = out.transpose(1, 2).reshape(batch, channels, height, width)
        return self.out_conv(F.hardswish(self.out_bn(out)))

    def extra_repr(self) -> str:
        return (f'grid={self.grid}, num_heads={self.num_heads}, '
                f'key_channels={self.key_channels}, value_channels={self.value_channels}')
