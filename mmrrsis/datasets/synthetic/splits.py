"""Argument checks and the train/val/test split of the synthetic writers."""
from typing import List, Sequence

import numpy as np

from .scenes import MIN_SIZE

SPLITS = ('train', 'val', 'test')


def check_args(num_images: int, size: int, split_ratios: Sequence[float],
               no_target_share: float = 0.0) -> None:
    """Refuses arguments the writers cannot honour, naming the argument at fault."""
    if num_images < 1:
        raise ValueError(f'num_images must be at least 1, got {num_images}')
    if size < MIN_SIZE:
        raise ValueError(f'size must be at least {MIN_SIZE} px for the objects to stay drawable, '
                         f'got {size}')
    if len(split_ratios) != len(SPLITS) or min(split_ratios) < 0 or sum(split_ratios) <= 0:
        raise ValueError(f'split_ratios must be three non-negative numbers (train, val, test) '
                         f'with a positive sum, got {tuple(split_ratios)}')
    if not 0 <= no_target_share < 1:
        raise ValueError(f'no_target_share must lie in [0, 1) (the share of no-target '
                         f'expressions), got {no_target_share}')


def assign_splits(num_images: int, split_ratios: Sequence[float]) -> List[str]:
    """Splits image indices in order: the first share is train, then val, then test."""
    raw = np.asarray(split_ratios, dtype=np.float64) / sum(split_ratios) * num_images
    counts = np.floor(raw).astype(int)
    for i in np.argsort(counts - raw, kind='stable')[:num_images - counts.sum()]:
        counts[i] += 1
    # A split that was asked for should not come out empty when there are enough images.
    for i in range(len(SPLITS)):
        if split_ratios[i] > 0 and counts[i] == 0 and counts.max() > 1:
            counts[counts.argmax()] -= 1
            counts[i] += 1
    return [split for split, count in zip(SPLITS, counts) for _ in range(count)]
