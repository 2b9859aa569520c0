"""mmseg-style inferencer for referring segmentation: batches of (image, expression) pairs."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.apis import MMSegInferencer
from mmseg.structures import SegDataSample
from torch import nn

from mmrrsis.registry import INFERENCERS
from .inference import (build_inference_pipeline, existence_score, init_model, pipeline_input,
                        pred_mask, read_rgb, to_pairs)


def _output_name(index: int, img_path: Optional[str]) -> str:
    """Name shared by a sample's overlay and mask files: running index, then the file stem."""
    stem = osp.splitext(osp.basename(img_path))[0] if img_path else 'array'
    return f'{index:06d}_{stem}'


@INFERENCERS.register_module()
class RRSISInferencer(MMSegInferencer):
    """Referring segmentation inferencer in the style of mmseg's ``MMSegInferencer``.

    Inputs are (image, expression) pairs, or dicts ``{'img': image, 'expression': str}``,
    alone or in a list; an image is a file path or an (H, W, 3) uint8 **BGR** array. The
    model is built by :func:`init_model` (safe checkpoint loading, ``dataset_meta``) and the
    inputs go through :func:`build_inference_pipeline`.

    Calling it returns ``{'predictions': masks, 'visualization': pictures}``: masks are
    (H, W) uint8 arrays, 1 on the target, at each image's original size (a single array for
    a single input); pictures (``return_vis=True``) are RGB overlays with the expression as a
    caption. A model with an existence head adds ``existence_scores``, p(target present) of
    each input (its mask is empty where that is below the head's threshold). With
    ``out_dir``, overlays go to ``out_dir/vis/<name>.png`` and masks (0/255 PNG) to
    ``out_dir/pred/<name>_mask.png``, where ``<name>`` is a running index (counted
    over the inferencer's life, as in mmseg) and the image file's stem, or 'array'.

    Example::

        >>> inferencer = RRSISInferencer('configs/btdnet/btdnet_tiny_synthetic.py',
        ...                              'work_dirs/quickstart/iter_1500.pth', device='cpu')
        >>> out = inferencer([('a.png', 'the red car'), ('a.png', 'the white building')],
        ...                  batch_size=2, out_dir='outputs')

    Args:
        model (str | Config): Config file or config.
        weights (str, optional): Checkpoint file. Defaults to None (random weights).
        device (str, optional): Device; the available one when None. Defaults to None.
        scope (str): Registry scope. Defaults to 'mmrrsis'.
    """

    visualize_kwargs: set = {'show', 'wait_time', 'img_out_dir', 'opacity', 'return_vis'}
    postprocess_kwargs: set = {'pred_out_dir', 'return_datasample'}

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'mmrrsis') -> None:
        super().__init__(model=model, weights=weights, device=device, scope=scope)
        self.visualizer.dataset_meta = dict(self.model.dataset_meta)

    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu') -> nn.Module:
        return init_model(cfg, weights, device=device)

    def _init_pipeline(self, cfg: Config):
        return build_inference_pipeline(cfg)

    def _init_collate(self, cfg: Config):
        return pseudo_collate

    def _init_visualizer(self, cfg: Config):
        # Pictures are written to explicit files; the config's backends (which need a
        # runner's save_dir) would only be dropped with a warning.
        cfg.visualizer.vis_backends = []
        return super()._init_visualizer(cfg)

    def _inputs_to_list(self, inputs) -> List[dict]:
        """Turns one pair/dict, or a list of them, into pipeline input dicts."""
        single = isinstance(inputs, dict) or (
            isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], str))
        if single:
            inputs = [inputs]
        elif not isinstance(inputs, (list, tuple)):
            raise TypeError('RRSISInferencer takes (image, expression) pairs or dicts with '
                            f'"img" and "expression", alone or in a list; got '
                            f'{type(inputs).__name__}')
        return [pipeline_input(image, expression) for image, expression in to_pairs(inputs)]

    def preprocess(self, inputs: List[dict], batch_size: int = 1, **kwargs):
        # The pipeline writes into its input dict; copies keep the originals for visualize().
        yield from super().preprocess([dict(x) for x in inputs], batch_size, **kwargs)

    def visualize(self,
                  inputs: List[dict],
                  preds: Sequence[SegDataSample],
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: float = 0,
                  img_out_dir: str = '',
                  opacity: float = 0.5) -> Optional[List[np.ndarray]]:
        """Draws each predicted mask over its image, with the expression as a caption.

        Args:
            inputs (list[dict]): Inputs from :meth:`_inputs_to_list`.
            preds (list[SegDataSample]): Predictions.
            return_vis (bool): Whether to return the pictures. Defaults to False.
            show (bool): Whether to display them. Defaults to False.
            wait_time (float): Seconds to display each. Defaults to 0.
            img_out_dir (str): Folder for the pictures; none written when ''. Defaults to ''.
            opacity (float): Opacity of the mask colour. Defaults to 0.5.

        Returns:
            list[np.ndarray] | None: RGB pictures when ``return_vis``.
        """
        if not show and not img_out_dir and not return_vis:
            return None
        self.visualizer.alpha = opacity
        pictures = []
        for item, pred in zip(inputs, preds):
            image = read_rgb(item['img'] if 'img' in item else item['img_path'])
            name = _output_name(self.num_visualized_imgs, item.get('img_path'))
            out_file = osp.join(img_out_dir, f'{name}.png') if img_out_dir else None
            self.visualizer.add_datasample(name, image, pred, draw_gt=False, draw_pred=True,
                                           show=show, wait_time=wait_time, out_file=out_file)
            if return_vis:
                pictures.append(self.visualizer.get_image())
            self.num_visualized_imgs += 1
        return pictures if return_vis else None

    def postprocess(self,
                    preds: List[SegDataSample],
                    visualization: Optional[List[np.ndarray]],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> Union[dict, SegDataSample, List[SegDataSample]]:
        """Packs the masks (and pictures), writing the masks as 0/255 PNGs when asked.

        Args:
            preds (list[SegDataSample]): Predictions.
            visualization (list[np.ndarray], optional): Pictures from :meth:`visualize`.
            return_datasample (bool): Return the ``SegDataSample`` results themselves.
                Defaults to False.
            pred_out_dir (str): Folder for the mask PNGs; none written when ''.
                Defaults to ''.

        Returns:
            dict | SegDataSample | list[SegDataSample]: ``predictions`` ((H, W) uint8 0/1
            masks), ``visualization`` and, for a model with an existence head,
            ``existence_scores`` (p(target present) of each input, a float for a single
            input); or the data samples.
        """
        if return_datasample:
            return preds[0] if len(preds) == 1 else preds
        masks = []
        for pred in preds:
            mask = pred_mask(pred)
            if pred_out_dir:
                name = _output_name(self.num_pred_imgs, pred.metainfo.get('img_path'))
                mmcv.imwrite(mask * 255, osp.join(pred_out_dir, f'{name}_mask.png'))
            masks.append(mask)
            self.num_pred_imgs += 1
        visualization = visualization or []
        scores = [existence_score(pred) for pred in preds]
        if len(masks) == 1:
            out = dict(predictions=masks[0],
                       visualization=visualization[0] if visualization else None)
        else:
            out = dict(predictions=masks, visualization=visualization)
        if any(score is not None for score in scores):
            out['existence_scores'] = scores[0] if len(scores) == 1 else scores
        return out
