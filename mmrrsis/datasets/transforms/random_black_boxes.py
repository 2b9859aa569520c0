"""Random black squares on a fixed share of the training refs (RMSIN's and FIANet's RRSIS-D
recipe)."""
import hashlib
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmrrsis.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomBlackBoxes(BaseTransform):
    """Pastes 20-60 black 32x32 squares on the image of a fixed subset of the refs.

    The published RRSIS-D recipes draw 20 % of the training refs once, at the start, and
    blacken random squares of those images at every load (positions and count redrawn each
    time). Here the subset is a seeded hash of the ref id, so it is the same in every epoch,
    worker, rank and run without any shared state, and has the configured share in
    expectation. The squares are drawn before the resize, on the original image, with the
    top-left corner uniform over the positions where the whole square fits (the reference
    bounds both axes by the width, which only differs for non-square images).

    Required keys: ``img`` and ``ref_id`` (``sample_idx`` when there is none). Modified key:
    ``img``.

    Args:
        ratio (float): Share of the refs that get squares. Defaults to 0.2.
        num_boxes (tuple[int, int]): Inclusive range of the number of squares. Defaults to
            (20, 60).
        box_size (int): Side of a square in pixels. Defaults to 32.
        seed (int): Seed of the subset. Defaults to 2401 (the recipes' seed).
        fill (int): Pixel value of the squares. Defaults to 0.
    """

    def __init__(self,
                 ratio: float = 0.2,
                 num_boxes: Tuple[int, int] = (20, 60),
                 box_size: int = 32,
                 seed: int = 2401,
                 fill: int = 0):
        if not 0 <= ratio <= 1:
            raise ValueError(f'RandomBlackBoxes: ratio must be in [0, 1], got {ratio}')
        if not 0 <= num_boxes[0] <= num_boxes[1]:
            raise ValueError(f'RandomBlackBoxes: num_boxes must be (low, high) with '
                             f'0 <= low <= high, got {num_boxes}')
        self.ratio = ratio
        self.num_boxes = tuple(num_boxes)
        self.box_size = box_size
        self.seed = seed
        self.fill = fill

    def is_selected(self, ref_id) -> bool:
        """Whether the ref with this id is in the blackened subset."""
        digest = hashlib.sha256(f'{self.seed}:{ref_id}'.encode()).digest()
        return int.from_bytes(digest[:8], 'big') / 2**64 < self.ratio

    def transform(self, results: dict) -> dict:
        ref_id = results.get('ref_id', results.get('sample_idx'))
        if ref_id is None:
            raise KeyError(f'RandomBlackBoxes needs `ref_id` (or `sample_idx`) to pick its '
                           f'subset; the sample of {results.get("img_path")} has neither')
        if not self.is_selected(ref_id):
            return results
        img = results['img']
        height, width = img.shape[:2]
        size = self.box_size
        if height < size or width < size:
            return results
        img = img.copy()
        count = np.random.randint(self.num_boxes[0], self.num_boxes[1] + 1)
        ys = np.random.randint(0, height - size + 1, count)
        xs = np.random.randint(0, width - size + 1, count)
        for y, x in zip(ys, xs):
            img[y:y + size, x:x + size] = self.fill
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ratio={self.ratio}, num_boxes={self.num_boxes}, '
                f'box_size={self.box_size}, seed={self.seed}, fill={self.fill})')
