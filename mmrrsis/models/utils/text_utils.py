"""Small tensor helpers shared by text-conditioned modules."""
import torch
from torch import Tensor


def masked_mean(feats: Tensor, mask: Tensor) -> Tensor:
    """Mean over the real tokens.

    Args:
        feats (Tensor): (B, Nt, C) token features.
        mask (Tensor): (B, Nt), 1 for real tokens and 0 for padding.

    Returns:
        Tensor: (B, C) sentence features.
    """
    weights = mask.to(feats.dtype).unsqueeze(-1)
    return (feats * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def coord_grid(batch: int, height: int, width: int, device=None, dtype=None) -> Tensor:
    """(B, 2, H, W) x/y coordinates in [-1, 1], so convolutions can reason about "left"/"top"."""
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((grid_x, grid_y)).unsqueeze(0).expand(batch, -1, -1, -1)
