"""2-D sine positional encoding (DETR's), for attention over flattened feature maps."""
import math

import torch
from torch import Tensor


def sine_positional_encoding(height: int,
                             width: int,
                             channels: int,
                             temperature: float = 10000.0,
                             normalize: bool = True,
                             scale: float = 2 * math.pi,
                             device=None,
                             dtype=None) -> Tensor:
    """Sine/cosine encoding of the pixel coordinates of an ``height`` x ``width`` map.

    As mmdet's ``SinePositionalEncoding`` (DETR, Deformable DETR) without a padding mask: the
    first ``channels // 2`` channels encode y, the rest encode x. With ``normalize`` the
    coordinates are scaled to ``(0, scale]`` so maps of different sizes share one range.

    Args:
        height (int): Map height h.
        width (int): Map width w.
        channels (int): Output channels; a multiple of 4 (sin/cos pairs for y and x).
        temperature (float): Wavelength base. Defaults to 10000.
        normalize (bool): Scale coordinates to ``(0, scale]``. Defaults to True.
        scale (float): Coordinate range when normalized. Defaults to 2*pi.
        device (torch.device, optional): Output device. Defaults to None.
        dtype (torch.dtype, optional): Output dtype. Defaults to None (float32).

    Returns:
        Tensor: (channels, h, w) encoding.
    """
    if channels % 4:
        raise ValueError('sine_positional_encoding needs channels divisible by 4 (sin/cos pairs '
                         f'for y and x), got {channels}')
    num_feats = channels // 2
    y = torch.arange(1, height + 1, device=device, dtype=torch.float32)
    x = torch.arange(1, width + 1, device=device, dtype=torch.float32)
    if normalize:
        eps = 1e-6
        y = y / (height + eps) * scale
        x = x / (width + eps) * scale
    dim_t = torch.arange(num_feats, device=device, dtype=torch.float32)
    dim_t = temperature**(2 * (dim_t // 2) / num_feats)
    pos_y = y[:, None] / dim_t  # (h, num_feats)
    pos_x = x[:, None] / dim_t  # (w, num_feats)
    # Interleave sin on even and cos on odd channels, as DETR does.
    pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()), dim=2).flatten(1)
    pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()), dim=2).flatten(1)
    pos = torch.cat((pos_y[:, None, :].expand(height, width, -1),
                     pos_x[None, :, :].expand(height, width, -1)), dim=2)
    return pos.permute(2, 0, 1).to(dtype or torch.float32).contiguous()
