"""Bidirectional Spatial Correlation (BTDNet paper, Sec. III-C2, Eqs. 2-4)."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from mmrrsis.registry import MODELS

DIRECTIONS = ('l2v', 'v2l')


def _at_least_float32(dtype: torch.dtype) -> torch.dtype:
    """float32 for half/bfloat16 (AMP-safe softmax and norms), else ``dtype`` (float64 stays)."""
    return torch.promote_types(dtype, torch.float32)


class TokenInstanceNorm(nn.Module):
    """``nn.InstanceNorm1d(C, affine=True)`` over the tokens of each channel, real tokens only.

    The statistics of a channel come from the sample's non-padded tokens, so the padding
    cannot change the normalised value of a real token. With no padding it equals
    ``nn.InstanceNorm1d`` applied to the (B, C, Nt) transpose. The affine weight and bias
    start at zero (the BSC gates start closed).

    Args:
        num_features (int): Channels C.
        eps (float): Added to the variance. Defaults to 1e-5.
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Normalises (B, Nt, C) features with a (B, Nt) 0/1 mask; returns (B, Nt, C)."""
        dtype = x.dtype
        stats_dtype = _at_least_float32(dtype)
        x = x.to(stats_dtype)
        m = mask[..., None].to(stats_dtype)
        count = m.sum(1, keepdim=True).clamp(min=1)
        mean = (x * m).sum(1, keepdim=True) / count
        var = ((x - mean).square() * m).sum(1, keepdim=True) / count
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return (x * self.weight.to(stats_dtype) + self.bias.to(stats_dtype)).to(dtype)


@MODELS.register_module()
class BSC(BaseModule):
    """Bidirectional Spatial Correlation between one vision and one text stage.

    Implements BTDNet Sec. III-C2: for each window size r, every pixel's r x r neighbourhood
    and every token's r-token window are mapped to D dims (φ_r(V), ψ_r(L)); the affinity
    ``A = Σ_r w_r φ_r(V) ψ_r(L)^T / sqrt(D)`` (B, hw, Nt), with ``w = softmax`` over learnable
    logits, drives both directions::

        V_hat = softmax_tokens(A) · proj_l(L)            (B, hw, C)   'l2v'
        L_hat = softmax_pixels(A^T) · proj_v(V)          (B, Nt, C_l) 'v2l'
        V' = V + g_v([V; V_hat]) ⊙ V_hat,   g_v = 1x1 conv -> InstanceNorm2d -> tanh
        L' = L + g_l([L; L_hat]) ⊙ L_hat,   g_l = Linear -> InstanceNorm1d -> tanh

    Unfold equivalence: the paper's "unfold then linear map" of an r x r window is exactly a
    dense r x r convolution C -> D (padding r // 2), and of an r-token window a 1-D
    convolution C_l -> D; those convolutions hold the parameters. The pixel side is never
    materialised, neither unfolded (r² x C per pixel) nor as φ_r(V) (D per pixel):
    φ_r(V)·ψ_r(L)_t is linear in V, so each token's ψ is folded into the weights first
    (K_t = Σ_r w_r W_r^T ψ_r(L)_t, a C x r_max x r_max kernel) and A is the per-sample
    convolution of V with the Nt kernels, mathematically equal: hw·C·Nt·r_max²
    multiply-adds instead of hw·C·D·Σr² (1/18 for Nt=20, D=256, r=1,3,5). That
    convolution runs as r_max matmuls (one per kernel row) whose outputs are shifted and
    summed, so neither forward nor backward builds im2col columns; at stage 1 (B=2, 128²,
    C=128) windows (1, 3, 5) then cost about the same peak memory as window (1,) alone
    (``tools/analysis/benchmark_bsc.py``). Likewise
    ``softmax(A^T)·proj_v(V) = proj_v(softmax(A^T)·V)`` (rows sum to 1), so proj_v runs on
    Nt vectors, not hw.

    Choices the paper leaves open: padded tokens are zeroed before the token windows (they do
    not leak into neighbours), excluded from the token softmax, and get no update
    (L' = L there); the text gate's instance norm uses real tokens only
    (:class:`TokenInstanceNorm`). The gates end in tanh, not sigmoid, and their norms' affine
    weight and bias start at zero, so at step 0 the gate is exactly 0 and V' = V, L' = L: a
    pretrained backbone is undisturbed. The softmaxes run in float32 (AMP safety).

    Args:
        vis_channels (int): Visual channels C of the stage.
        text_channels (int): Text channels C_l. Defaults to 768.
        embed_dims (int): Correlation width D. Defaults to 256.
        window_sizes (Sequence[int]): Odd receptive-field sizes r. Defaults to (1, 3, 5).
        directions (Sequence[str]): 'l2v' updates the vision stream with text, 'v2l' the
            text stream with vision; ('l2v',) is the paper's "L2V only" ablation (L' = L).
            Defaults to ('l2v', 'v2l').
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 embed_dims: int = 256,
                 window_sizes: Sequence[int] = (1, 3, 5),
                 directions: Sequence[str] = DIRECTIONS,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        window_sizes = tuple(window_sizes)
        directions = tuple(directions)
        if not window_sizes or any(not isinstance(r, int) or r < 1 or r % 2 == 0
                                   for r in window_sizes):
            raise ValueError(f'BSC window_sizes {window_sizes} must be odd positive ints '
                             '(a window is centred on its pixel/token)')
        if len(set(window_sizes)) != len(window_sizes):
            raise ValueError(f'BSC window_sizes {window_sizes} repeat a size')
        unknown = [d for d in directions if d not in DIRECTIONS]
        if not directions or unknown or len(set(directions)) != len(directions):
            raise ValueError(f'BSC directions {directions} must be distinct entries of '
                             f'{DIRECTIONS}')
        for name, value in (('vis_channels', vis_channels), ('text_channels', text_channels),
                            ('embed_dims', embed_dims)):
            if value < 1:
                raise ValueError(f'BSC {name} must be positive, got {value}')
        self.vis_channels = vis_channels
        self.text_channels = text_channels
        self.embed_dims = embed_dims
        self.window_sizes = window_sizes
        self.directions = directions

        self.vis_windows = nn.ModuleList(
            nn.Conv2d(vis_channels, embed_dims, r, padding=r // 2) for r in window_sizes)
        self.text_windows = nn.ModuleList(
            nn.Conv1d(text_channels, embed_dims, r, padding=r // 2) for r in window_sizes)
        self.window_logits = nn.Parameter(torch.zeros(len(window_sizes)))

        if 'l2v' in directions:
            self.proj_l = nn.Linear(text_channels, vis_channels)
            self.gate_v = nn.Sequential(
                nn.Conv2d(2 * vis_channels, vis_channels, 1),
                nn.InstanceNorm2d(vis_channels, affine=True), nn.Tanh())
            nn.init.zeros_(self.gate_v[1].weight)
            nn.init.zeros_(self.gate_v[1].bias)
        if 'v2l' in directions:
            self.proj_v = nn.Linear(vis_channels, text_channels)
            self.gate_l_fc = nn.Linear(2 * text_channels, text_channels)
            self.gate_l_norm = TokenInstanceNorm(text_channels)

    def affinity(self, vis: Tensor, text: Tensor) -> Tensor:
        """Multi-window affinity ``A`` (Eq. 3), before masking.

        Args:
            vis (Tensor): (B, C, h, w) visual features.
            text (Tensor): (B, Nt, C_l) text features, padded tokens already zeroed.

        Returns:
            Tensor: (B, h*w, Nt) affinity.
        """
        batch, channels, height, width = vis.shape
        num_tokens = text.shape[1]
        r_max = max(self.window_sizes)
        pad = r_max // 2
        weights = self.window_logits.softmax(0) * self.embed_dims**-0.5
        text_t = text.transpose(1, 2)
        # per token, a C-channel r_max x r_max kernel (the Conv2d weight layout, no copy)
        kernel = vis.new_zeros(batch, num_tokens, channels, r_max, r_max)
        bias = 0
        for k, r in enumerate(self.window_sizes):
            # (B, Nt, D), already weighted: scaling D-vectors is cheaper than C*r*r kernels
            psi = self.text_windows[k](text_t).transpose(1, 2) * weights[k]
            conv = self.vis_windows[k]
            lo = (r_max - r) // 2
            kernel[..., lo:lo + r, lo:lo + r] += (psi @ conv.weight.flatten(1)).view(
                batch, num_tokens, channels, r, r)
            bias = bias + psi @ conv.bias
        # The convolution of V with the token kernels, one kernel row at a time: a matmul
        # gives every column offset's response at every pixel, which is then shifted into
        # place. F.conv2d's CPU backward would build im2col columns instead
        # (C * r_max^2 * h * w per sample, 200 MiB at stage 1).
        pixels = vis.flatten(2)
        affinity = bias[..., None, None]
        for dy in range(r_max):
            taps = kernel[..., dy, :].transpose(2, 3).reshape(batch, num_tokens * r_max, channels)
            rows = (taps @ pixels).view(batch, num_tokens, r_max, height, width)
            for dx in range(r_max):
                # out(y, x) = rows(y + oy, x + ox), zero outside (negative pad = crop)
                oy, ox = dy - pad, dx - pad
                shifted = rows[:, :, dx]
                if oy or ox:
                    shifted = F.pad(shifted, (-ox, ox, -oy, oy))
                affinity = affinity + shifted
        return affinity.flatten(2).transpose(1, 2)

    def forward(self, vis: Tensor, text: Tensor, text_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Correlates one stage's vision and text features.

        Args:
            vis (Tensor): (B, C, h, w) visual features V.
            text (Tensor): (B, Nt, C_l) text features L.
            text_mask (Tensor): (B, Nt) 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor, Tensor]: V' (B, C, h, w) and L' (B, Nt, C_l).
        """
        batch, channels, height, width = vis.shape
        if channels != self.vis_channels or text.shape[-1] != self.text_channels:
            raise ValueError(f'BSC built for {self.vis_channels} visual / {self.text_channels} '
                             f'text channels got {channels} / {text.shape[-1]}')
        valid = text_mask.to(torch.bool)
        text_real = text.masked_fill(~valid[..., None], 0)
        logits = self.affinity(vis, text_real)
        logits = logits.to(_at_least_float32(logits.dtype))
        logits = logits.masked_fill(~valid[:, None, :], torch.finfo(logits.dtype).min)

        vis_out, text_out = vis, text
        if 'l2v' in self.directions:
            attn = logits.softmax(-1).type_as(vis)  # over tokens
            vis_hat = (attn @ self.proj_l(text_real)).transpose(1, 2)
            vis_hat = vis_hat.reshape(batch, channels, height, width)
            vis_out = vis + self.gate_v(torch.cat([vis, vis_hat], 1)) * vis_hat
        if 'v2l' in self.directions:
            attn = logits.transpose(1, 2).softmax(-1).type_as(vis)  # over pixels
            text_hat = self.proj_v(attn @ vis.flatten(2).transpose(1, 2))
            text_hat = text_hat.masked_fill(~valid[..., None], 0)
            gate = torch.tanh(
                self.gate_l_norm(self.gate_l_fc(torch.cat([text, text_hat], -1)), text_mask))
            text_out = text + gate * text_hat
        return vis_out, text_out

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, text_channels={self.text_channels}, '
                f'embed_dims={self.embed_dims}, window_sizes={self.window_sizes}, '
                f'directions={self.directions}')
