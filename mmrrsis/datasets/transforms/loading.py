"""Loads the image and the target mask of a referring sample, naming the file on any failure."""
from typing import Optional, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.logging import print_log
from pycocotools import mask as mask_utils

from mmrrsis.registry import TRANSFORMS

# mmcv's tifffile backend returns colour images in RGB order; cv2 and pillow give BGR.
_RGB_ORDER_BACKENDS = ('tifffile', )
TO_UINT8_MODES = ('divide257', 'minmax')


def _describe_sample(results: dict) -> str:
    """Names a sample by the ids the datasets give it, for error messages."""
    ids = [f'{key} {results[key]}' for key in ('line', 'ref_id', 'sent_id', 'image_id')
           if results.get(key) is not None]
    return f' ({", ".join(ids)})' if ids else ''


def _minmax_to_uint8(img: np.ndarray) -> np.ndarray:
    low, high = float(img.min()), float(img.max())
    if high <= low:
        return np.zeros(img.shape, dtype=np.uint8)
    return np.round((img.astype(np.float64) - low) * (255.0 / (high - low))).astype(np.uint8)


@TRANSFORMS.register_module()
class LoadReferringImage(LoadImageFromFile):
    """Loads an image as (H, W, 3) uint8 in BGR order, whatever the file stores.

    A drop-in for mmcv's ``LoadImageFromFile`` (same keys: ``img``, ``img_shape``,
    ``ori_shape``) that decodes the file unchanged and then converts it, so every image reaches
    the model in the same form, and that names the file when it cannot be read:

    * grayscale (H, W) or (H, W, 1) -> the gray channel repeated three times;
    * gray + alpha (H, W, 2) -> the gray channel repeated, alpha dropped;
    * RGBA (H, W, 4) -> alpha dropped (not composited onto a background);
    * uint16 (16-bit TIFF) -> uint8 by ``to_uint8``: ``'divide257'`` maps 0..65535 linearly
      onto 0..255 (``round(v / 257)``, the inverse of the usual 8->16 bit scaling ``v * 257``;
      the same mapping for every image, so radiometry stays comparable), ``'minmax'``
      stretches each image's own min..max onto 0..255 (use it for 10-12 bit data stored in
      16 bits, which ``'divide257'`` leaves very dark). Other dtypes (int16, float) need
      ``'minmax'``.

    Each kind of conversion is logged once per transform instance (i.e. once per dataset and
    worker). Files with another channel count (e.g. multispectral) are refused. Pixels are
    taken as stored: EXIF orientation is not applied, so masks defined on the stored pixel
    grid stay aligned. OpenCV, the default decoder, multiplies RGB by alpha when it reads a
    TIFF with unassociated alpha; ``imdecode_backend='tifffile'`` keeps the stored RGB of such
    files (compressed TIFFs may need the ``imagecodecs`` package).

    Args:
        to_uint8 (str): How images of more than 8 bits become uint8, ``'divide257'`` or
            ``'minmax'``. Defaults to ``'divide257'``.
        **kwargs: Passed to :class:`mmcv.transforms.LoadImageFromFile` (``imdecode_backend``,
            ``backend_args``, ``to_float32``, ``ignore_empty``). ``color_type`` defaults to
            ``'unchanged'``, which the conversions above rely on.
    """

    def __init__(self, to_uint8: str = 'divide257', **kwargs) -> None:
        if to_uint8 not in TO_UINT8_MODES:
            raise ValueError(f'LoadReferringImage: to_uint8 must be one of {TO_UINT8_MODES}, '
                             f'got {to_uint8!r}')
        kwargs.setdefault('color_type', 'unchanged')
        super().__init__(**kwargs)
        self.to_uint8 = to_uint8
        self._logged = set()

    def _log_once(self, kind: str, message: str) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            print_log(f'{message}; further images converted this way are not logged.',
                      logger='current')

    def _decode(self, filename: str, where: str) -> np.ndarray:
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image {filename}{where} is missing') from e
        except Exception as e:
            raise OSError(f'image {filename}{where} cannot be read: '
                          f'{type(e).__name__}: {e}') from e
        try:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type,
                                   backend=self.imdecode_backend)
        except Exception as e:
            raise ValueError(f'image {filename}{where} cannot be decoded (corrupt or truncated '
                             f'file?): {type(e).__name__}: {e}') from e
        if img is None or img.size == 0:
            raise ValueError(f'image {filename}{where} cannot be decoded (corrupt or truncated '
                             f'file, or a format {self.imdecode_backend} does not read?)')
        return img

    def _to_three_channels(self, img: np.ndarray, filename: str, where: str) -> np.ndarray:
        if img.ndim == 2:
            img = img[..., None]
        channels = img.shape[2] if img.ndim == 3 else None
        if channels in (1, 2):
            self._log_once('gray', f'{filename}: grayscale image repeated to 3 channels'
                           + (' (alpha dropped)' if channels == 2 else ''))
            return np.repeat(img[..., :1], 3, axis=2)
        if channels == 4:
            self._log_once('alpha', f'{filename}: 4-channel image, alpha channel dropped')
            img = img[..., :3]
        elif channels != 3:
            raise ValueError(f'image {filename}{where} has shape {img.shape}; expected a '
                             'grayscale, RGB or RGBA image')
        if self.imdecode_backend in _RGB_ORDER_BACKENDS:
            img = img[..., ::-1]
        return np.ascontiguousarray(img)

    def _to_uint8(self, img: np.ndarray, filename: str, where: str) -> np.ndarray:
        if img.dtype == np.uint8:
            return img
        if self.to_uint8 == 'divide257' and img.dtype == np.uint16:
            self._log_once('uint16', f'{filename}: 16-bit image scaled to 8 bits (value / 257)')
            return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
        if self.to_uint8 == 'minmax' and (np.issubdtype(img.dtype, np.integer)
                                          or np.issubdtype(img.dtype, np.floating)):
            self._log_once('minmax', f'{filename}: {img.dtype} image stretched to 8 bits '
                           '(per-image min-max)')
            return _minmax_to_uint8(img)
        raise ValueError(f'image {filename}{where} has pixel type {img.dtype}, which '
                         f'to_uint8={self.to_uint8!r} does not convert; use '
                         "LoadReferringImage(to_uint8='minmax')")

    def transform(self, results: dict) -> Optional[dict]:
        """Loads ``results['img_path']`` into ``results['img']`` (H, W, 3) uint8 BGR."""
        filename = results['img_path']
        where = _describe_sample(results)
        try:
            img = self._decode(filename, where)
        except (OSError, ValueError):
            if self.ignore_empty:
                return None
            raise
        img = self._to_three_channels(img, filename, where)
        img = self._to_uint8(img, filename, where)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_uint8={self.to_uint8!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')


@TRANSFORMS.register_module()
class LoadReferringAnnotations(BaseTransform):
    """Loads the binary target mask as ``gt_seg_map`` (0 background, 1 target).

    Required keys: ``rle`` (RRSIS-D: list of COCO RLE dicts) or ``seg_map_path``
    (RefSegRS: grayscale tif), and ``img_shape`` or ``ori_shape`` when the mask must match the
    image. Added keys: ``gt_seg_map`` (uint8, H x W), ``seg_fields``.

    A mask whose size differs from the loaded image is resized (nearest) to the image. For
    RLE masks this is a known RRSIS-D defect (RLE 800x800, JPEG 800x801) that
    ``RRSISDDataset`` counts and logs once; for mask files the first such mask is logged here.

    A tif mask pixel is target when its value is above ``mask_threshold``. RefSegRS masks are
    0/255; the first mask holding other values (anti-aliased edges, 0/1 label maps...) is logged
    with the values found, and a mask whose values are all at or below the threshold but not
    all zero (e.g. a 0/1 mask) gets its own log line, since it becomes all background.

    Args:
        mask_threshold (int): Threshold of tif mask values. Defaults to 50.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(self, mask_threshold: int = 50, backend_args=None) -> None:
        self.mask_threshold = mask_threshold
        self.backend_args = backend_args
        self._logged = set()

    def _log_once(self, kind: str, message: str) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            print_log(f'{message}; further masks like this are not logged.', logger='current')

    def _fit_to_image(self, mask: np.ndarray, results: dict,
                      source: Optional[str] = None) -> np.ndarray:
        """Resizes ``mask`` (nearest) to the image; logs the first resize when ``source``."""
        target: Tuple[int, ...] = tuple(results.get('ori_shape') or results.get('img_shape')
                                        or mask.shape)[:2]
        if mask.shape == target:
            return mask
        if source is not None:
            self._log_once('resize', f'mask {source} is {mask.shape[0]}x{mask.shape[1]} but '
                           f'its image is {target[0]}x{target[1]}; resized (nearest) to the image')
        return mmcv.imresize(mask, (target[1], target[0]), interpolation='nearest')

    def _decode_rle(self, results: dict) -> np.ndarray:
        source = f'{results.get("img_path")}{_describe_sample(results)}'
        try:
            mask = mask_utils.decode(results['rle'])
        except Exception as e:
            raise ValueError(f'RLE mask of {source} cannot be decoded: '
                             f'{type(e).__name__}: {e}') from e
        if mask.ndim == 3:
            mask = mask.sum(axis=2)
        return self._fit_to_image((mask > 0).astype(np.uint8), results)

    def _read_mask(self, path: str, results: dict) -> np.ndarray:
        where = _describe_sample(results)
        try:
            mask_bytes = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'mask {path}{where} is missing') from e
        try:
            mask = mmcv.imfrombytes(mask_bytes, flag='unchanged', backend='pillow')
        except Exception as e:
            raise ValueError(f'mask {path}{where} cannot be decoded: '
                             f'{type(e).__name__}: {e}') from e
        if mask is None or mask.size == 0:
            raise ValueError(f'mask {path}{where} cannot be decoded')
        if mask.ndim == 3:
            mask = mask[..., 0]
        values = np.unique(mask)
        if not np.isin(values, (0, 255)).all():
            shown = ', '.join(str(v) for v in values[:10]) + (' ...' if len(values) > 10 else '')
            self._log_once('values', f'mask {path} holds values other than 0/255 ({shown}); '
                           f'pixels > {self.mask_threshold} are target')
            if 0 < values.max() <= self.mask_threshold:
                self._log_once('empty', f'mask {path} has no value above {self.mask_threshold} '
                               'and becomes all background; for 0/1 masks set '
                               'LoadReferringAnnotations(mask_threshold=0)')
        mask = (mask > self.mask_threshold).astype(np.uint8)
        return self._fit_to_image(mask, results, path)

    def transform(self, results: dict) -> dict:
        """Sets ``results['gt_seg_map']`` (H, W) uint8 0/1 from the RLE or the mask file."""
        if results.get('rle') is not None:
            gt = self._decode_rle(results)
        elif results.get('seg_map_path'):
            gt = self._read_mask(results['seg_map_path'], results)
        else:
            raise ValueError(f'sample {results.get("img_path")}{_describe_sample(results)} has '
                             'neither an "rle" nor a "seg_map_path" to load its mask from')
        results['gt_seg_map'] = gt
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mask_threshold={self.mask_threshold})'
