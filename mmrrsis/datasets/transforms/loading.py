"""Loads the target mask of a referring sample (RefSegRS tif or RRSIS-D RLE)."""
import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from pycocotools import mask as mask_utils

from mmrrsis.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadReferringAnnotations(BaseTransform):
    """Loads the binary target mask as ``gt_seg_map`` (0 background, 1 target).

    Required keys: ``rle`` (RRSIS-D: list of COCO RLE dicts) or ``seg_map_path``
    (RefSegRS: grayscale tif), and ``img_shape`` or ``ori_shape`` when an RLE must match the
    image. Added keys: ``gt_seg_map`` (uint8, H x W), ``seg_fields``.

    RLE masks are decoded with pycocotools, summed over their parts and resized (nearest)
    to the loaded image when their size differs (a known RRSIS-D defect).

    Args:
        mask_threshold (int): A tif mask pixel is target when its value is above this.
            Defaults to 50 (RefSegRS masks are 0/255).
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(self, mask_threshold: int = 50, backend_args=None) -> None:
        self.mask_threshold = mask_threshold
        self.backend_args = backend_args

    def _decode_rle(self, results: dict) -> np.ndarray:
        mask = mask_utils.decode(results['rle'])
        if mask.ndim == 3:
            mask = mask.sum(axis=2)
        mask = (mask > 0).astype(np.uint8)
        target_shape = tuple(results.get('ori_shape') or results.get('img_shape') or mask.shape)[:2]
        if mask.shape != target_shape:
            mask = mmcv.imresize(mask, (target_shape[1], target_shape[0]), interpolation='nearest')
        return mask

    def _read_mask(self, path: str) -> np.ndarray:
        try:
            mask = mmcv.imfrombytes(fileio.get(path, backend_args=self.backend_args),
                                    flag='unchanged', backend='pillow')
        except Exception as e:
            raise ValueError(f'mask {path} cannot be decoded: {type(e).__name__}: {e}') from e
        if mask is None:
            raise ValueError(f'mask {path} cannot be decoded')
        if mask.ndim == 3:
            mask = mask[..., 0]
        return (mask > self.mask_threshold).astype(np.uint8)

    def transform(self, results: dict) -> dict:
        if results.get('rle') is not None:
            gt = self._decode_rle(results)
        elif results.get('seg_map_path'):
            gt = self._read_mask(results['seg_map_path'])
        else:
            raise KeyError(f'sample {results.get("img_path")} has neither "rle" nor "seg_map_path"')
        results['gt_seg_map'] = gt
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mask_threshold={self.mask_threshold})'
