"""Bidirectional Spatial Correlation (BTDNet paper, Sec. III-C2, Eqs. 2-4)."""
from typing import Dict, List, Sequence, Tuple

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


class GateInstanceNorm2d(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d(C, affine=True)`` for BSC's vision gate: zero affine, 1 x 1 maps.

    The affine weight and bias start at zero, so the gate starts closed. A 1 x 1 map (stage 4
    of a 32 x 32 input), which ``F.instance_norm`` refuses, gives the bias, computed from
    ``x - mean(x)`` so every parameter keeps a (zero) gradient.

    Args:
        num_features (int): Channels C.
        eps (float): Added to the variance. Defaults to 1e-5.
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__(num_features, eps=eps, affine=True)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Normalises (B, C, h, w) features over h*w; returns (B, C, h, w)."""
        if x.shape[-2] * x.shape[-1] > 1:
            return super().forward(x)
        centred = x - x.mean((-2, -1), keepdim=True)
        return centred * self.weight[:, None, None] + self.bias[:, None, None]


@MODELS.register_module()
class BSC(BaseModule):
    """Bidirectional Spatial Correlation between one vision and one text stage.

    Implements BTDNet Sec. III-C2 (Eqs. 2-4): for each window size r, φ_r maps every pixel's
    r x r neighbourhood and ψ_r every token's r-token window to D dims (an r x r and an
    r-token convolution, shared by both directions); each direction weights the windows with
    its own softmax::

        A_v = Σ_r w^v_r φ_r(V) ψ_r(L)^T / sqrt(D),   w^v = softmax(window_logits_l2v)
        A_l = Σ_r w^l_r φ_r(V) ψ_r(L)^T / sqrt(D),   w^l = softmax(window_logits_v2l)
        V_hat = softmax_tokens(A_v) · proj_l(L)          (B, hw, C)   'l2v'
        L_hat = softmax_pixels(A_l^T) · proj_v(V)        (B, Nt, C_l) 'v2l'
        V' = V + g_v([V; V_hat]) ⊙ V_hat,   g_v = 1x1 conv -> InstanceNorm2d -> tanh
        L' = L + g_l([L; L_hat]) ⊙ L_hat,   g_l = Linear -> InstanceNorm1d -> tanh

    Padded tokens are zeroed before the windows, masked out of the token softmax and left
    unchanged. The gates' norms start at zero, so V' = V and L' = L at step 0. How the
    affinities are computed without unfolding V is in configs/btdnet/README.md.

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

        if 'l2v' in directions:
            self.window_logits_l2v = nn.Parameter(torch.zeros(len(window_sizes)))
            self.proj_l = nn.Linear(text_channels, vis_channels)
            self.gate_v = nn.Sequential(
                nn.Conv2d(2 * vis_channels, vis_channels, 1), GateInstanceNorm2d(vis_channels),
                nn.Tanh())
        if 'v2l' in directions:
            self.window_logits_v2l = nn.Parameter(torch.zeros(len(window_sizes)))
            self.proj_v = nn.Linear(vis_channels, text_channels)
            self.gate_l_fc = nn.Linear(2 * text_channels, text_channels)
            self.gate_l_norm = TokenInstanceNorm(text_channels)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # BSCs before the per-direction weights had one shared ``window_logits``
        shared = state_dict.pop(prefix + 'window_logits', None)
        if shared is not None:
            for direction in self.directions:
                state_dict.setdefault(f'{prefix}window_logits_{direction}', shared)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def window_weights(self, direction: str) -> Tensor:
        """(R,) softmax-normalised window weights w^v ('l2v') or w^l ('v2l') of Eq. 3."""
        return getattr(self, f'window_logits_{direction}').softmax(0)

    def window_affinities(self, vis: Tensor, text: Tensor) -> List[Tensor]:
        """Per-window affinities ``A_r = φ_r(V) ψ_r(L)^T`` of Eq. 3, unweighted, unscaled.

        Args:
            vis (Tensor): (B, C, h, w) visual features.
            text (Tensor): (B, Nt, C_l) text features, padded tokens already zeroed.

        Returns:
            list[Tensor]: One (B, h*w, Nt) affinity per window, in ``window_sizes`` order.
        """
        batch, channels, height, width = vis.shape
        num_tokens = text.shape[1]
        text_t = text.transpose(1, 2)
        pixels = vis.flatten(2)
        pieces = []
        for k, r in enumerate(self.window_sizes):
            psi = self.text_windows[k](text_t).transpose(1, 2)  # (B, Nt, D)
            conv = self.vis_windows[k]
            # per token, a C-channel r x r kernel (the Conv2d weight layout, no copy)
            kernel = (psi @ conv.weight.flatten(1)).view(batch, num_tokens, channels, r, r)
            piece = (psi @ conv.bias)[..., None, None]
            # The convolution of V with the token kernels, one kernel row at a time: a matmul
            # gives every column offset's response at every pixel, which is then shifted into
            # place. F.conv2d's CPU backward would build im2col columns instead
            # (C * r^2 * h * w per sample, 200 MiB at stage 1 for r = 5).
            for dy in range(r):
                oy = dy - r // 2
                if abs(oy) >= height:
                    continue  # the row only ever meets the zero padding
                taps = kernel[..., dy, :].transpose(2, 3).reshape(batch, num_tokens * r, channels)
                rows = (taps @ pixels).view(batch, num_tokens, r, height, width)
                for dx in range(r):
                    ox = dx - r // 2
                    if abs(ox) >= width:
                        continue
                    # out(y, x) = rows(y + oy, x + ox), zero outside (negative pad = crop,
                    # never of the whole side, so F.pad accepts it)
                    shifted = rows[:, :, dx]
                    if oy or ox:
                        shifted = F.pad(shifted, (-ox, ox, -oy, oy))
                    piece = piece + shifted
            pieces.append(piece.flatten(2).transpose(1, 2))
        return pieces

    def affinity(self, vis: Tensor, text: Tensor) -> Dict[str, Tensor]:
        """The multi-window affinities of Eq. 3 of the built directions, before masking.

        Args:
            vis (Tensor): (B, C, h, w) visual features.
            text (Tensor): (B, Nt, C_l) text features, padded tokens already zeroed.

        Returns:
            dict[str, Tensor]: ``'l2v'``: A_v, ``'v2l'``: A_l (each built direction), both
            (B, h*w, Nt).
        """
        pieces = self.window_affinities(vis, text)
        affinities = {}
        for direction in self.directions:
            weights = self.window_weights(direction) * self.embed_dims**-0.5
            affinity = weights[0] * pieces[0]
            for weight, piece in zip(weights[1:], pieces[1:]):
                affinity = affinity + weight * piece
            affinities[direction] = affinity
        return affinities

    def vision_gate(self, vis: Tensor, attn: Tensor, values: Tensor) -> Tensor:
        """``g_v([V; V_hat]) ⊙ V_hat`` of Eq. 4 with ``V_hat = attn · values``.

        The 1x1 convolution of ``[V; V_hat]`` is ``W_v V + W_hat V_hat + b``, and
        ``W_hat V_hat = attn · (values W_hat^T)``: that half costs Nt x C x C on the tokens
        plus the attention product instead of h w x C x C, and neither the concatenation
        nor an im2col buffer is built.

        Args:
            vis (Tensor): (B, C, h, w) V.
            attn (Tensor): (B, h*w, Nt) attention over tokens.
            values (Tensor): (B, Nt, C) projected text ``proj_l(L)``.

        Returns:
            Tensor: (B, C, h, w) the gated update.
        """
        batch, channels, height, width = vis.shape
        conv, norm, act = self.gate_v
        weight = conv.weight.flatten(1)
        w_vis, w_hat = weight[:, :channels], weight[:, channels:]
        # (B, 2C, Nt) @ (B, Nt, hw): V_hat and W_hat V_hat in (B, C, hw) layout in one product
        both = torch.cat((values, values @ w_hat.t()), -1).transpose(1, 2) @ attn.transpose(1, 2)
        vis_hat, hat_term = both[:, :channels], both[:, channels:]
        pre = w_vis @ vis.flatten(2) + hat_term
        if conv.bias is not None:
            pre = pre + conv.bias[:, None]
        gate = act(norm(pre.view(batch, channels, height, width)))
        return gate * vis_hat.view(batch, channels, height, width)

    def forward(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage, as a fusion of :class:`StageWiseExtractor`.

        Args:
            vis (Tensor): (B, N, C) visual tokens on an (h, w) grid, N = h * w.
            hw_shape (tuple[int, int]): (h, w).
            text (Tensor): (B, Nt, C_l) text features L.
            text_mask (Tensor): (B, Nt) 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor]: V' (B, N, C) twice (the next stage's input and the stage output)
            and L' (B, Nt, C_l).
        """
        vis_map = vis.transpose(1, 2).reshape(vis.shape[0], vis.shape[2], *hw_shape)
        vis_out, text_out = self.correlate(vis_map, text, text_mask)
        vis_out = vis_out.flatten(2).transpose(1, 2)
        return vis_out, vis_out, text_out

    def correlate(self, vis: Tensor, text: Tensor, text_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Correlates one stage's vision and text features (Eqs. 2-4).

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
        affinities = self.affinity(vis, text_real)

        vis_out, text_out = vis, text
        if 'l2v' in self.directions:
            logits = affinities['l2v']
            logits = logits.to(_at_least_float32(logits.dtype))
            logits = logits.masked_fill(~valid[:, None, :], torch.finfo(logits.dtype).min)
            attn = logits.softmax(-1).type_as(vis)  # over tokens
            vis_out = vis + self.vision_gate(vis, attn, self.proj_l(text_real))
        if 'v2l' in self.directions:
            # over pixels, one token at a time: padded tokens need no mask, their L_hat is
            # zeroed below
            logits = affinities['v2l']
            logits = logits.to(_at_least_float32(logits.dtype))
            attn = logits.transpose(1, 2).softmax(-1).type_as(vis)
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
