"""Referring segmentation metrics: oIoU, mIoU, Pr@t of the LAVT-lineage RRSIS papers, and the
generalized referring segmentation measures (N-acc, T-acc, gIoU, cIoU) on no-target samples."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmengine.dist import get_world_size
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from prettytable import PrettyTable
from torch import Tensor

from mmrrsis.registry import METRICS

# (I, U, category index, has_target 0/1, predicted pixels) of one sample.
Result = Tuple[int, int, int, int, int]
# Slack so that an IoU landing exactly on a threshold (e.g. 1/2 for Pr@0.5) counts as a hit
# despite float rounding in I / U.
_THR_EPS = 1e-12


@METRICS.register_module()
class RRSISMetric(BaseMetric):
    """oIoU, mIoU and Pr@t of referring remote-sensing image segmentation; N-acc, T-acc, gIoU
    and cIoU too when some samples have no target.

    Implements the evaluation protocol of the LAVT lineage (LAVT, RMSIN, FIANet, LGCE) used by the
    BTDNet paper's tables. For each sample (one expression), with ``ignore_index`` pixels of the GT
    removed from both sets: I = |pred ∧ gt|, U = |pred ∨ gt|, IoU = I / U, and IoU = 0 when
    U = 0.
    Over the split: oIoU = ΣI / ΣU (0 if ΣU = 0), mIoU = mean of the per-sample IoU (samples with
    U = 0 still count in the denominator), Pr@t = share of samples with IoU ≥ t. All are reported
    in percent. oIoU equals mmdet 3.3 ``RefSegMetric``'s cIoU.

    No-target samples (metainfo ``has_target=False``, as :class:`NoTargetDataset` gives them;
    a sample without the key has a target) must have an empty GT. When the dataset holds any,
    oIoU, mIoU, Pr@t and the per-category figures keep their meaning on the target samples
    alone, and the generalized referring segmentation measures (gRefCOCO's) are added, a
    prediction being *empty* when it marks no (non-ignored) pixel:

    * ``N-acc``: share of the no-target samples predicted empty;
    * ``T-acc``: share of the target samples predicted non-empty;
    * ``gIoU``: mean per-sample IoU over all samples, a no-target sample scoring 1 when
      predicted empty and 0 otherwise;
    * ``cIoU``: ΣI / ΣU over all samples (a no-target sample adds its predicted pixels to U);
    * ``num_no_target``: the number of no-target samples.

    Without no-target samples the output is exactly the one above.

    ``self.results`` holds one ``(I, U, category_index, has_target, predicted_pixels)`` tuple of
    Python ints per sample, never a mask. In multi-process evaluation mmengine's
    ``collect_results`` gathers these tuples in dataset order and truncates them to the dataset
    size, so the duplicates that ``DefaultSampler`` pads onto the last ranks are dropped and
    every sample counts exactly once.

    Args:
        eval_resolution (str): Where pixels are counted. ``'original'`` (MMSeg convention)
            compares ``pred_sem_seg``, the logits resized bilinearly to the original image
            size and then arg-maxed, with the GT as loaded, at the original size. ``'input'``
            (the LAVT lineage's protocol, used by the BTDNet paper configs) compares
            ``pred_sem_seg_input``, the argmax of the logits at the network input size
            ``img_shape`` as :class:`ReferringEncoderDecoder` writes it, with the GT resized
            to ``img_shape`` by centre-aligned nearest sampling (PIL ``NEAREST``, as those
            repos resize the GT to 480×480 or 512×512). A sample without
            ``pred_sem_seg_input``, with one of another size than ``img_shape``, or whose
            ``pred_sem_seg`` was replaced after the segmentor wrote both (a TTA model's
            merge) is refused with an error naming it. Defaults to ``'original'``.
        iou_thrs (Sequence[float]): Thresholds t of Pr@t, each in (0, 1]. Defaults to
            ``(0.5, 0.6, 0.7, 0.8, 0.9)``.
        per_category (bool): Also report oIoU and mIoU per category (metainfo ``category``, a
            name), logged as a table and returned as ``oIoU/<name>`` and ``mIoU/<name>``.
            Category indices come from ``dataset_meta['categories']`` when the dataset provides
            it (required when running on several processes, so that indices agree across ranks);
            otherwise from the names in the order first seen. Samples without a category count
            in the overall metrics only. Defaults to False.
        ignore_index (int): GT value of pixels excluded from I and U. Defaults to 255.
        collect_device (str): Device used to collect results across ranks, ``'cpu'`` or
            ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix added to the metric names to tell apart metrics of
            different evaluators. Defaults to None.
    """

    EVAL_RESOLUTIONS = ('original', 'input')

    def __init__(self,
                 eval_resolution: str = 'original',
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 per_category: bool = False,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if eval_resolution not in self.EVAL_RESOLUTIONS:
            raise ValueError(f'RRSISMetric eval_resolution must be one of {self.EVAL_RESOLUTIONS}, '
                             f'got {eval_resolution!r}')
        bad_thrs = [t for t in iou_thrs if not 0 < t <= 1]
        if bad_thrs:
            raise ValueError(f'RRSISMetric iou_thrs must lie in (0, 1], got {bad_thrs}')
        self.eval_resolution = eval_resolution
        self.iou_thrs = tuple(float(t) for t in iou_thrs)
        self.per_category = per_category
        self.ignore_index = ignore_index
        # Category names in the order first seen, used only when dataset_meta has no 'categories'.
        self._seen_categories: List[str] = []

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Count I and U of each sample and store them with its category index.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): ``SegDataSample.to_dict()`` outputs with
                ``gt_sem_seg['data']`` (1, H, W) 0/1 GT (``ignore_index`` allowed) at the
                original size, ``pred_sem_seg['data']`` (1, H, W) 0/1 prediction at the
                original size (``'original'``) or ``pred_sem_seg_input['data']`` (1, h, w)
                at the input size ``img_shape`` (``'input'``), and the metainfo
                ``img_shape``, ``ori_shape`` and optionally ``category`` and ``has_target``.
        """
        for data_sample in data_samples:
            if self.eval_resolution == 'input':
                pred = self._input_size_pred(data_sample)
                gt = data_sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
                gt = self._resize_nearest(gt, tuple(pred.shape))
            else:
                pred = data_sample['pred_sem_seg']['data'].squeeze(0)
                gt = data_sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
                if pred.shape != gt.shape:
                    raise ValueError(f'RRSISMetric: prediction {tuple(pred.shape)} and GT '
                                     f'{tuple(gt.shape)} of {self._describe(data_sample)} '
                                     'differ in size; both must be at the original image size')
            intersection, union, predicted = self._intersect_and_union(pred, gt)
            has_target = bool(data_sample.get('has_target', True))
            if not has_target and union - predicted + intersection > 0:  # |GT| > 0
                raise ValueError(f'RRSISMetric: {self._describe(data_sample)} has '
                                 'has_target=False but a non-empty GT mask')
            category = self._category_index(data_sample) if self.per_category else -1
            self.results.append((intersection, union, category, int(has_target), predicted))

    def compute_metrics(self, results: List[Result]) -> Dict[str, float]:
        """Compute the metrics from the per-sample result tuples.

        Args:
            results (list[tuple]): ``(I, U, category_index, has_target, predicted_pixels)`` of
                every sample.

        Returns:
            dict[str, float]: ``oIoU``, ``mIoU`` and ``Pr@<t>`` for each threshold t, in percent,
            over the target samples; when there are no-target samples then ``N-acc``,
            ``T-acc``, ``gIoU`` and ``cIoU`` in percent and ``num_no_target``; with
            ``per_category`` also ``oIoU/<name>`` and ``mIoU/<name>`` for every category seen
            (target samples); last ``num_samples``, the number of samples scored (each counted
            once, also when several processes evaluate), a float like the others so that
            mmengine's JSON log keeps it.
        """
        targets = [r for r in results if r[3]]
        metrics: Dict[str, float] = OrderedDict()
        metrics['oIoU'], metrics['mIoU'] = self._overall_and_mean_iou(targets)
        ious = [self._iou(r[0], r[1]) for r in targets]
        for thr in self.iou_thrs:
            hits = sum(iou >= thr - _THR_EPS for iou in ious)
            metrics[f'Pr@{thr:g}'] = 100.0 * hits / len(ious) if ious else 0.0
        if len(targets) < len(results):
            metrics.update(self._generalized_metrics(results))
        if self.per_category:
            metrics.update(self._per_category_metrics(targets))
        metrics['num_samples'] = float(len(results))
        return metrics

    def _generalized_metrics(self, results: Sequence[Result]) -> Dict[str, float]:
        """N-acc, T-acc, gIoU and cIoU in percent, and the number of no-target samples."""
        no_target = [r for r in results if not r[3]]
        targets = [r for r in results if r[3]]
        total_i = sum(r[0] for r in results)
        total_u = sum(r[1] for r in results)
        generalized = [self._iou(r[0], r[1]) if r[3] else float(r[4] == 0) for r in results]
        metrics: Dict[str, float] = OrderedDict()
        metrics['N-acc'] = 100.0 * sum(r[4] == 0 for r in no_target) / len(no_target)
        metrics['T-acc'] = 100.0 * sum(r[4] > 0 for r in targets) / len(targets) \
            if targets else 0.0
        metrics['gIoU'] = 100.0 * sum(generalized) / len(generalized)
        metrics['cIoU'] = 100.0 * total_i / total_u if total_u > 0 else 0.0
        metrics['num_no_target'] = float(len(no_target))
        return metrics

    def _intersect_and_union(self, pred: Tensor, gt: Tensor) -> Tuple[int, int, int]:
        """Count I, U and the predicted pixels of (H, W) ``pred`` and ``gt``, leaving out
        ``ignore_index`` GT pixels."""
        valid = gt != self.ignore_index
        pred_fg = (pred != 0) & valid
        gt_fg = (gt != 0) & valid
        intersection = int((pred_fg & gt_fg).sum().item())
        union = int((pred_fg | gt_fg).sum().item())
        return intersection, union, int(pred_fg.sum().item())

    def _input_size_pred(self, data_sample: dict) -> Tensor:
        """The sample's (h, w) input-size prediction, checked against its ``img_shape``."""
        where = f"RRSISMetric(eval_resolution='input'): {self._describe(data_sample)}"
        pred_input = data_sample.get('pred_sem_seg_input')
        if pred_input is None:
            raise ValueError(f'{where} has no pred_sem_seg_input, the argmax of the logits at '
                             'the input size that ReferringEncoderDecoder.predict writes; use a '
                             "ReferringEncoderDecoder or eval_resolution='original'")
        if not data_sample.get('pred_sem_seg', {}).get('has_input_pred', False):
            raise ValueError(f'{where}: its pred_sem_seg was replaced after the segmentor wrote '
                             'pred_sem_seg_input (test-time augmentation merges the copies '
                             'at the original size), so the input-size prediction is not the '
                             "one to score; use eval_resolution='original'")
        pred = pred_input['data'].squeeze(0)
        size = tuple(data_sample['img_shape'][:2])
        if tuple(pred.shape) != size:
            raise ValueError(f'{where}: pred_sem_seg_input is {tuple(pred.shape)} but '
                             f'img_shape is {size}; the padding metainfo (padding_size) does '
                             'not match the logits')
        return pred

    @staticmethod
    def _resize_nearest(mask: Tensor, size: Tuple[int, int]) -> Tensor:
        """Resize an (H, W) label map to ``size`` (h, w) with centre-aligned nearest sampling."""
        if tuple(mask.shape) == size:
            return mask
        resized = F.interpolate(mask[None, None].float(), size=size, mode='nearest-exact')
        return resized[0, 0].to(mask.dtype)

    @staticmethod
    def _iou(intersection: int, union: int) -> float:
        return intersection / union if union > 0 else 0.0

    def _overall_and_mean_iou(self, results: Sequence[Result]) -> Tuple[float, float]:
        """Return (oIoU, mIoU) in percent of ``results``; both 0 for no samples."""
        total_i = sum(r[0] for r in results)
        total_u = sum(r[1] for r in results)
        overall = 100.0 * total_i / total_u if total_u > 0 else 0.0
        if not results:
            return overall, 0.0
        mean = 100.0 * sum(self._iou(r[0], r[1]) for r in results) / len(results)
        return overall, mean

    def _category_names(self) -> List[str]:
        categories = (self.dataset_meta or {}).get('categories')
        return list(categories) if categories is not None else self._seen_categories

    def _category_index(self, data_sample: dict) -> int:
        """Index of the sample's metainfo ``category`` in the category table, -1 if it has none."""
        name = data_sample.get('category')
        if name is None:
            return -1
        names = self._category_names()
        if name in names:
            return names.index(name)
        if names is not self._seen_categories:
            raise ValueError(f"RRSISMetric: category {name!r} of {self._describe(data_sample)} is "
                             f"not in dataset_meta['categories'] {names}")
        if get_world_size() > 1:
            raise RuntimeError("RRSISMetric(per_category=True) on several processes needs "
                               "dataset_meta['categories'] (the dataset's category names) so that "
                               'category indices agree across ranks; the dataset provides none')
        names.append(name)
        return len(names) - 1

    def _per_category_metrics(self, results: Sequence[Result]) -> Dict[str, float]:
        """Per-category oIoU and mIoU in percent; also logs them as a table."""
        names = self._category_names()
        grouped: Dict[int, List[Result]] = {}
        for result in results:
            if result[2] >= 0:
                grouped.setdefault(result[2], []).append(result)
        metrics: Dict[str, float] = OrderedDict()
        table = PrettyTable(field_names=['Category', 'Samples', 'oIoU', 'mIoU'])
        for index in sorted(grouped):
            name = names[index]
            overall, mean = self._overall_and_mean_iou(grouped[index])
            metrics[f'oIoU/{name}'] = overall
            metrics[f'mIoU/{name}'] = mean
            table.add_row([name, len(grouped[index]), f'{overall:.2f}', f'{mean:.2f}'])
        print_log('per-category results:\n' + table.get_string(), logger='current')
        return metrics

    @staticmethod
    def _describe(data_sample: dict) -> str:
        """Name a sample in error messages by its image and expression."""
        return (f"sample (img_path={data_sample.get('img_path')!r}, "
                f"expression={data_sample.get('expression')!r})")
