"""Draws prediction vs ground truth, with the expression, during validation and testing."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.structures import SegDataSample

from mmrrsis.registry import HOOKS


@HOOKS.register_module()
class RRSISVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` that follows the same samples through training.

    * Validation: the first ``num_val_samples`` samples of **every** validation run are drawn
      (ground truth | prediction, with the expression and IoU, by ``RRSISLocalVisualizer``),
      so successive pictures of one sample show the model learning. ``step`` is the epoch for
      an epoch-based training loop and the iteration otherwise; the pictures go to the
      visualizer's backends (``<work_dir>/<timestamp>/vis_data/vis_image/
      val_<image>_<ids>_<step>.png`` for ``LocalVisBackend``, the image tab for
      ``TensorboardVisBackend``).
    * Test: every sample of every ``interval``-th batch, as mmseg does; ``tools/test.py
      --show-dir`` sets ``interval=1`` to draw them all.

    Nothing is drawn unless ``draw`` is True.

    Args:
        draw (bool): Whether to draw at all. Defaults to False.
        interval (int): Test batches between drawn batches. Defaults to 50.
        num_val_samples (int): Samples drawn per validation run. Defaults to 4.
        show (bool): Display the pictures instead of storing them. Defaults to False.
        wait_time (float): Seconds each shown picture stays. Defaults to 0.
        backend_args (dict, optional): mmengine file backend arguments for reading the
            images. Defaults to None.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 num_val_samples: int = 4,
                 show: bool = False,
                 wait_time: float = 0.,
                 backend_args: Optional[dict] = None):
        super().__init__(draw=draw, interval=interval, show=show, wait_time=wait_time,
                         backend_args=backend_args)
        if num_val_samples < 0:
            raise ValueError(f'num_val_samples must be >= 0, got {num_val_samples}')
        self.num_val_samples = num_val_samples
        self._num_val_drawn = 0

    def _draw(self, samples: Sequence[SegDataSample], mode: str, step: int) -> None:
        for sample in samples:
            img_bytes = fileio.get(sample.img_path, backend_args=self.backend_args)
            image = mmcv.imfrombytes(img_bytes, channel_order='rgb')
            self._visualizer.add_datasample(
                f'{mode}_{osp.basename(sample.img_path)}', image, data_sample=sample,
                show=self.show, wait_time=self.wait_time, step=step)

    @staticmethod
    def _val_step(runner: Runner) -> int:
        # runner.train_loop would build the loop (and its dataloader) in a val-only run.
        epoch_based = isinstance(getattr(runner, '_train_loop', None), EpochBasedTrainLoop)
        return runner.epoch if epoch_based else runner.iter

    def before_val_epoch(self, runner: Runner) -> None:
        self._num_val_drawn = 0

    def after_val_iter(self,
                       runner: Runner,
                       batch_idx: int,
                       data_batch: dict = None,
                       outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        """Draws this batch's samples until ``num_val_samples`` are drawn in this run."""
        if not self.draw or self._num_val_drawn >= self.num_val_samples:
            return
        samples = list(outputs)[:self.num_val_samples - self._num_val_drawn]
        self._draw(samples, 'val', self._val_step(runner))
        self._num_val_drawn += len(samples)

    def after_test_iter(self,
                        runner: Runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        """Draws all samples of every ``interval``-th test batch."""
        if self.draw and self.every_n_inner_iters(batch_idx, self.interval):
            self._draw(outputs, 'test', runner.iter)
