"""LAVT's pixel-word attention and tanh language gate (LAVT, Yang et al. CVPR 2022, Sec. 3.2-3.3).

Shared by every fusion module of the LAVT lineage: LAVT's PWAM, RMSIN's IIM, FIANet's FIAM and
TMEM, and SBANet's PWAM ablation.
"""
import torch
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn


def pixel_instance_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """``nn.InstanceNorm1d`` (no affine) over the pixels of each channel, in token layout.

    Args:
        x (Tensor): (B, N, C) pixel features.
        eps (float): Added to the variance. Defaults to 1e-5.

    Returns:
        Tensor: (B, N, C), each channel of each sample with zero mean and unit variance over
        the N pixels (biased variance, as InstanceNorm).
    """
    # the (B, C, N) transpose of F.instance_norm, without materialising the transpose
    dtype = x.dtype
    x = x.to(torch.promote_types(dtype, torch.float32))
    var, mean = torch.var_mean(x, dim=1, correction=0, keepdim=True)
    return ((x - mean) * torch.rsqrt(var + eps)).to(dtype)


class PixelWordAttention(nn.Module):
    """Every pixel attends to the words of its expression (LAVT Eq. 1-2).

    ``q = IN(W_q v)``, ``k = m ⊙ W_k l``, ``u = m ⊙ W_u l``; per head,
    ``a = softmax_tokens(q kᵀ / sqrt(key_channels) + 10⁴ (m - 1))`` and the output is
    ``IN(W_o (a u))``, IN being instance normalisation over the pixels (no affine). All W are
    1x1 projections with bias. Two details follow the published LAVT code rather than a
    textbook attention, so that converted weights give the same numbers: the logits are
    scaled by the *total* key width (not the per-head width), and padded tokens are pushed
    down by 10⁴ (not -inf), which also keeps a sample with no real token finite.

    The projections are ``nn.Linear`` on (B, N, C) tokens: the same maps as the code's
    ``Conv1d(kernel_size=1)`` on (B, C, N), without the layout changes (the converter
    squeezes the kernel dimension). They keep PyTorch's default initialisation, as the
    reference's convolutions do.

    Args:
        vis_channels (int): Pixel channels C_v.
        text_channels (int): Word channels C_l. Defaults to 768.
        key_channels (int, optional): Query/key width. Defaults to ``vis_channels``.
        value_channels (int, optional): Value width. Defaults to ``vis_channels``.
        out_channels (int, optional): Output width. Defaults to ``value_channels``.
        num_heads (int): Heads; must divide both widths. Defaults to 1.
        fused (bool): Compute the attention with ``scaled_dot_product_attention`` (same
            logits, mask and scale as the explicit softmax, equal up to float order).
            Defaults to True.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 key_channels: int = None,
                 value_channels: int = None,
                 out_channels: int = None,
                 num_heads: int = 1,
                 fused: bool = True):
        super().__init__()
        key_channels = key_channels or vis_channels
        value_channels = value_channels or vis_channels
        out_channels = out_channels or value_channels
        if key_channels % num_heads or value_channels % num_heads:
            raise ValueError(f'PixelWordAttention: num_heads={num_heads} must divide '
                             f'key_channels={key_channels} and value_channels={value_channels}')
        self.num_heads = num_heads
        self.fused = fused
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.query = nn.Linear(vis_channels, key_channels)
        self.key = nn.Linear(text_channels, key_channels)
        self.value = nn.Linear(text_channels, value_channels)
        self.out = nn.Linear(value_channels, out_channels)

    def forward(self, vis: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        """Attends from pixels to words.

        Args:
            vis (Tensor): (B, N, C_v) pixel features.
            text (Tensor): (B, Nt, C_l) word features.
            text_mask (Tensor): (B, Nt), 1 for the words to attend to, 0 elsewhere.

        Returns:
            Tensor: (B, N, out_channels) language features of every pixel.
        """
        batch, num_pixels = vis.shape[:2]
        num_tokens = text.shape[1]
        heads = self.num_heads
        mask = text_mask.to(vis.dtype)
        query = pixel_instance_norm(self.query(vis))
        key = self.key(text) * mask[..., None]
        value = self.value(text) * mask[..., None]
        query = query.view(batch, num_pixels, heads, -1).transpose(1, 2)
        key = key.view(batch, num_tokens, heads, -1).transpose(1, 2)
        value = value.view(batch, num_tokens, heads, -1).transpose(1, 2)
        scale = self.key_channels**-0.5
        pad = (1e4 * mask - 1e4)[:, None, None, :]
        if self.fused:
            out = F.scaled_dot_product_attention(
                query, key, value, attn_mask=pad.to(query.dtype), scale=scale)
        else:
            logits = (query @ key.transpose(-2, -1)) * scale + pad
            out = F.softmax(logits, dim=-1) @ value
        out = out.transpose(1, 2).reshape(batch, num_pixels, self.value_channels)
        return pixel_instance_norm(self.out(out))


class LanguageGate(nn.Sequential):
    """LAVT's language gate ``tanh(W_2 ReLU(W_1 x))`` with bias-free C x C linears (Sec. 3.3).

    Initialised as the reference backbone initialises every linear: truncated normal,
    std 0.02. The gate is therefore small but not zero at step 0.

    Args:
        channels (int): Feature width C.
    """

    def __init__(self, channels: int):
        super().__init__(
            nn.Linear(channels, channels, bias=False), nn.ReLU(),
            nn.Linear(channels, channels, bias=False), nn.Tanh())

    def init_weights(self) -> None:
        for layer in (self[0], self[2]):
            trunc_normal_(layer.weight, std=0.02)
