"""Swin's window attention on ``scaled_dot_product_attention`` (Swin, ICCV 2021, Eq. 4)."""
import torch.nn.functional as F
from mmseg.models.backbones.swin import WindowMSA
from torch import Tensor, nn


class SDPAWindowMSA(WindowMSA):
    """mmseg's ``WindowMSA`` whose core is ``torch.nn.functional.scaled_dot_product_attention``.

    ``softmax(q kᵀ · scale + B + M) v`` per window and head, B the relative position bias and M
    the shift mask (0 / -100) of shifted windows, passed to SDPA as one additive mask. Same
    parameters and buffers as ``WindowMSA`` (checkpoints load unchanged); only ``forward``
    differs, so :func:`set_window_attention` switches a built Swin in place.
    """

    def forward(self, x: Tensor, mask: Tensor = None) -> Tensor:
        """Attends within each window.

        Args:
            x (Tensor): (B·nW, N, C) window tokens, N = Wh·Ww, windows of a sample adjacent.
            mask (Tensor, optional): (nW, N, N) additive shift mask. Defaults to None.

        Returns:
            Tensor: (B·nW, N, C) attended tokens after the output projection.
        """
        batch, num_tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, num_tokens, 3, self.num_heads,
                                  channels // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
            num_tokens, num_tokens, -1).permute(2, 0, 1)  # (heads, N, N)
        if mask is None:
            attn_mask = bias[None]
        else:
            # (B, nW, heads, N, d) against a (nW, heads, N, N) mask: no copy per sample
            windows = mask.shape[0]
            q, k, v = (t.reshape(batch // windows, windows, *t.shape[1:]) for t in (q, k, v))
            attn_mask = bias[None] + mask[:, None]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask.to(q.dtype), scale=self.scale,
            dropout_p=self.attn_drop.p if self.training else 0.0)
        out = out.reshape(batch, self.num_heads, num_tokens, -1).transpose(1, 2)
        return self.proj_drop(self.proj(out.reshape(batch, num_tokens, channels)))


def set_window_attention(module: nn.Module, fused: bool) -> int:
    """Makes every ``WindowMSA`` under ``module`` run fused (SDPA) or eager, in place.

    Args:
        module (nn.Module): A model or an mmseg ``SwinTransformer``.
        fused (bool): :class:`SDPAWindowMSA` if True, mmseg's ``WindowMSA`` if False.

    Returns:
        int: The number of window attentions switched.
    """
    count = 0
    for child in module.modules():
        if isinstance(child, WindowMSA):
            child.__class__ = SDPAWindowMSA if fused else WindowMSA
            count += 1
    return count
