"""Draws ground truth and prediction side by side with the expression as a caption."""
import textwrap
from typing import Optional

import mmcv
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer
from PIL import Image, ImageDraw, ImageFont

from mmrrsis.registry import VISUALIZERS


def _sample_iou(data_sample: SegDataSample) -> Optional[float]:
    if 'gt_sem_seg' not in data_sample or 'pred_sem_seg' not in data_sample:
        return None
    gt = data_sample.gt_sem_seg.data.cpu().numpy() == 1
    pred = data_sample.pred_sem_seg.data.cpu().numpy() == 1
    if gt.shape != pred.shape:
        return None
    union = np.logical_or(gt, pred).sum()
    return float(np.logical_and(gt, pred).sum() / union) if union else 0.0


def _target_only(sem_seg: PixelData) -> PixelData:
    """Marks background as unlabelled so only the target is tinted and the image stays visible."""
    data = sem_seg.data
    return PixelData(data=torch.where(data == 1, data, torch.full_like(data, 255)))


@VISUALIZERS.register_module()
class RRSISLocalVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` for referring samples.

    Panels: ground truth | prediction (target in the palette's second colour), scaled up to
    at least ``min_panel_size`` pixels wide, above a caption with the expression and the
    sample's IoU. Arguments are those of :class:`mmseg.visualization.SegLocalVisualizer`,
    plus ``min_panel_size`` (int, defaults to 256); ``alpha`` defaults to 0.5 so the object
    under the tint stays recognisable.
    """

    def __init__(self, name: str = 'visualizer', min_panel_size: int = 256, alpha: float = 0.5,
                 **kwargs):
        super().__init__(name=name, alpha=alpha, **kwargs)
        self.min_panel_size = min_panel_size

    def draw_caption(self, image: np.ndarray, text: str) -> np.ndarray:
        """Appends a white strip with ``text`` wrapped to the image width.

        Args:
            image (np.ndarray): (H, W, 3) RGB image.
            text (str): Caption.

        Returns:
            np.ndarray: (H + h_caption, W, 3) RGB image.
        """
        font = ImageFont.load_default()
        chars_per_line = max(10, image.shape[1] // 7)
        lines = textwrap.wrap(text, chars_per_line) or ['']
        strip = Image.new('RGB', (image.shape[1], 14 * len(lines) + 8), 'white')
        draw = ImageDraw.Draw(strip)
        for i, line in enumerate(lines):
            draw.text((4, 4 + 14 * i), line, fill='black', font=font)
        return np.concatenate([image, np.asarray(strip)], axis=0)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = False) -> None:
        """Draws one sample; saved to ``out_file`` or sent to the visual backends.

        The picture is also kept as the current image (``get_image()``).
        """
        # dataset_meta is only set on the main process in multi-process runs
        meta = self.dataset_meta or {}
        classes = meta.get('classes', ('background', 'target'))
        palette = meta.get('palette', [[0, 0, 0], [255, 64, 64]])
        panels = []
        if data_sample is not None:
            if draw_gt and 'gt_sem_seg' in data_sample:
                panels.append(self._draw_sem_seg(image, _target_only(data_sample.gt_sem_seg),
                                                 classes, palette, with_labels))
            if draw_pred and 'pred_sem_seg' in data_sample:
                panels.append(self._draw_sem_seg(image, _target_only(data_sample.pred_sem_seg),
                                                 classes, palette, with_labels))
        drawn = np.concatenate(panels, axis=1) if panels else image
        scale = max(1, int(np.ceil(self.min_panel_size / image.shape[1])))
        if scale > 1:
            drawn = mmcv.imrescale(drawn, scale, interpolation='nearest')
        meta = data_sample.metainfo if data_sample is not None else {}
        # One image may carry several expressions: name pictures after the sample, not the file.
        for key in ('ref_id', 'sent_id'):
            if meta.get(key) is not None:
                name = f'{name}_{key.split("_")[0]}{meta[key]}'
        caption = f'"{meta.get("expression", "")}"'
        iou = _sample_iou(data_sample) if data_sample is not None else None
        if iou is not None:
            caption += f'   IoU {100 * iou:.1f}%   (left: ground truth, right: prediction)'
        drawn = self.draw_caption(drawn, caption)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
