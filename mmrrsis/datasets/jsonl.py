"""The RSRefSeg2 JSONL exchange format: one JSON object per sample, COCO RLE masks."""
import json
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from pycocotools import mask as mask_utils

from mmrrsis.registry import DATASETS
from .refsegrs import REFSEGRS_CATEGORIES
from .risbench import RISBENCH_CATEGORIES, risbench_category
from .rrsisd import RRSISD_CATEGORIES
from .utils import (category_from_expression, check_data_root, check_listed_files_exist,
                    check_not_empty, check_split)

# dataset key -> (image folder under the dataset root, categories, category of an expression)
JSONL_SOURCES: Dict[str, Tuple[str, Sequence[str], Callable[[str], Optional[str]]]] = {
    'refsegrs': ('images', REFSEGRS_CATEGORIES,
                 lambda text: category_from_expression(text, REFSEGRS_CATEGORIES)),
    'rrsisd': ('images/rrsisd/JPEGImages', RRSISD_CATEGORIES,
               lambda text: category_from_expression(text, RRSISD_CATEGORIES)),
    'risbench': ('img_rgb', RISBENCH_CATEGORIES, risbench_category),
}
REQUIRED_KEYS = ('sent', 'file_name', 'segmentation')


def compressed_rle_runs(counts: str) -> List[int]:
    """Decodes the run lengths of a compressed COCO RLE string (pycocotools' LEB128 variant).

    Each run is a sequence of characters ``48 + 6-bit chunk``: 5 value bits and a
    continuation bit, the last chunk's bit 4 the sign; from the third run on a value is a
    difference to the run two places back.

    Raises:
        ValueError: When a character lies outside the alphabet or the string ends mid-run.
    """
    runs, value, shift, more = [], 0, 0, False
    for char in counts:
        chunk = ord(char) - 48
        if not 0 <= chunk < 64:
            raise ValueError(f'character {char!r} is not part of a compressed RLE')
        value |= (chunk & 0x1f) << shift
        shift += 5
        more = bool(chunk & 0x20)
        if more:
            continue
        if chunk & 0x10:
            value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        value, shift = 0, 0
    if more:
        raise ValueError('the string ends inside a run')
    return runs


def rle_problem(rle) -> Optional[str]:
    """Says what is wrong with a COCO RLE dict (size, counts, runs not covering H x W), or None.

    A list of ints as ``counts`` (uncompressed RLE) is accepted too.
    """
    if not isinstance(rle, dict) or 'size' not in rle or 'counts' not in rle:
        return 'not a {"size", "counts"} dict'
    size = rle['size']
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and v > 0 for v in size)):
        return f'size {size!r} is not [height, width]'
    counts = rle['counts']
    if isinstance(counts, list):
        runs = counts
    elif isinstance(counts, str):
        try:
            runs = compressed_rle_runs(counts)
        except ValueError as e:
            return f'counts cannot be decoded: {e}'
    else:
        return f'counts is a {type(counts).__name__}, expected a string or a list of ints'
    if not all(isinstance(r, int) and r >= 0 for r in runs):
        return 'counts holds a negative or non-integer run'
    if sum(runs) != size[0] * size[1]:
        return (f'counts cover {sum(runs)} pixels but size {size[0]}x{size[1]} has '
                f'{size[0] * size[1]}')
    return None


def as_compressed(rle: dict) -> dict:
    """The RLE with a compressed string ``counts`` (what ``LoadReferringAnnotations`` decodes)."""
    if isinstance(rle['counts'], str):
        return dict(size=list(rle['size']), counts=rle['counts'])
    h, w = rle['size']
    encoded = mask_utils.frPyObjects(dict(size=[h, w], counts=rle['counts']), h, w)
    return dict(size=[h, w], counts=encoded['counts'].decode('ascii'))


@DATASETS.register_module()
class ReferringJsonlDataset(BaseSegDataset):
    """A referring dataset in RSRefSeg2's JSONL format; one sample per line.

    Files (``data_root``)::

        datainfo/<dataset>_<split>.jsonl   {"split", "image_id", "sent", "file_name",
                                            "segmentation"[, "category_id", "category_name",
                                            "ann_id", "bbox", "area"]} per line
        <img_prefix>/<file_name>           the image

    ``segmentation`` is one COCO RLE dict or a list of them (RRSIS-D), the masks being their
    union; ``image_id`` keeps its type (int for RRSIS-D, str for RefSegRS and RISBench).
    ``category`` is ``category_name`` when it is one of the dataset's categories, else the
    category named in ``sent`` (RefSegRS and RRSIS-D: the longest name, RISBench: the first).
    ``bbox`` (RRSIS-D: corners, not COCO xywh) and ``area`` (not the mask's pixel count) are
    ignored. An RLE whose size differs from its image (RRSIS-D's 800x801 JPEGs) is resized
    (nearest) to the image by ``LoadReferringAnnotations``; images are not opened here, so
    ``check_dataset.py jsonl_<dataset>`` lists them. Every line has a target unless it carries
    ``"has_target": false`` (an mmrrsis extension that ``to_jsonl.py`` writes for no-target
    samples).

    Args:
        data_root (str): Dataset folder (RSRefSeg2's ``data_root`` is the image folder itself:
            give ``img_prefix=''`` then).
        split (str): 'train', 'val' or 'test'; every line's ``split`` must equal it.
            Defaults to 'train'.
        dataset (str): Source dataset, 'refsegrs', 'rrsisd' or 'risbench': the categories, the
            category rule, and the defaults of ``ann_file`` and ``img_prefix``.
            Defaults to 'risbench'.
        img_prefix (str, optional): Image folder relative to ``data_root``. Defaults to the
            dataset's own ('images', 'images/rrsisd/JPEGImages', 'img_rgb').
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`; ``ann_file`` (relative to
            ``data_root`` unless absolute; ``{split}`` and ``{dataset}`` are filled in)
            defaults to ``datainfo/{dataset}_{split}.jsonl``. ``metainfo=dict(categories=...)``
            replaces the dataset's categories (for files of another dataset).
    """
    METAINFO = dict(classes=('background', 'target'), palette=[[0, 0, 0], [255, 64, 64]])

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 dataset: str = 'risbench',
                 img_prefix: Optional[str] = None,
                 **kwargs) -> None:
        check_split(split, 'ReferringJsonlDataset')
        if dataset not in JSONL_SOURCES:
            raise ValueError(f'ReferringJsonlDataset: unknown dataset "{dataset}"; choose one of '
                             f'{tuple(JSONL_SOURCES)}')
        check_data_root(data_root, 'ReferringJsonlDataset')
        self.split = split
        self.source = dataset
        default_prefix, categories, _ = JSONL_SOURCES[dataset]
        prefix = default_prefix if img_prefix is None else img_prefix
        kwargs.setdefault('data_prefix', dict(img_path=prefix, seg_map_path=''))
        kwargs['ann_file'] = kwargs.get('ann_file',
                                        'datainfo/{dataset}_{split}.jsonl').replace(
                                            '{dataset}', dataset).replace('{split}', split)
        kwargs['metainfo'] = dict(dict(categories=tuple(categories)), **kwargs.get('metainfo')
                                  or {})
        super().__init__(data_root=data_root, **kwargs)

    def _read_lines(self) -> List[Tuple[int, dict]]:
        """(line number from 1, object) of every non-blank line; bad lines named."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'JSONL annotation file {self.ann_file} is missing')
        with open(self.ann_file, 'rb') as f:
            raw_lines = f.read().splitlines()
        records, blank = [], []
        for line_no, raw in enumerate(raw_lines, start=1):
            where = f'{self.ann_file}, line {line_no}'
            try:
                text = raw.decode('utf-8').strip()
                if not text:
                    blank.append(line_no)
                    continue
                record = json.loads(text)
            except (UnicodeDecodeError, ValueError) as e:
                raise ValueError(f'{where}: not a JSON object ({e})') from e
            if not isinstance(record, dict):
                raise ValueError(f'{where}: holds a {type(record).__name__}, expected an object')
            missing = [k for k in REQUIRED_KEYS if k not in record]
            if missing:
                raise ValueError(f'{where}: lacks the key(s) {missing}')
            records.append((line_no, record))
        if blank:
            print_log(f'JSONL {self.source} {self.split}: {len(blank)} blank line(s) of '
                      f'{self.ann_file} skipped (first: line {blank[0]})', logger='current')
        return records

    def _category(self, record: dict, expression: str) -> Optional[str]:
        categories = self._metainfo['categories']
        name = record.get('category_name')
        if name in categories:
            return name
        category_id = record.get('category_id')
        if name is None and isinstance(category_id, int) and 0 <= category_id < len(categories):
            return categories[category_id]
        return JSONL_SOURCES[self.source][2](expression)

    def load_data_list(self) -> List[dict]:
        """Reads the JSONL file, checking each line's split, expression and RLE."""
        records = self._read_lines()
        source = osp.basename(self.ann_file)
        data_list, uncategorised = [], 0
        for line_no, record in records:
            where = f'{self.ann_file}, line {line_no}'
            if record.get('split', self.split) != self.split:
                raise ValueError(f'{where}: split "{record.get("split")}" in a file read as the '
                                 f'{self.split} split')
            expression = str(record['sent']).strip()
            if not expression:
                raise ValueError(f'{where}: empty "sent"')
            segmentation = record['segmentation']
            rles = segmentation if isinstance(segmentation, list) else [segmentation]
            if not rles:
                raise ValueError(f'{where}: empty segmentation list')
            for rle in rles:
                problem = rle_problem(rle)
                if problem:
                    raise ValueError(f'{where}: corrupt RLE segmentation: {problem}')
            has_target = record.get('has_target', True)
            if not isinstance(has_target, bool):
                raise ValueError(f'{where}: has_target must be true or false, got {has_target!r}')
            category = self._category(record, expression)
            uncategorised += category is None
            info = dict(
                img_path=osp.join(self.data_prefix['img_path'], str(record['file_name'])),
                seg_map_path=None,
                rle=[as_compressed(rle) for rle in rles],
                image_id=record.get('image_id'),
                expression=expression,
                category=category,
                ref_id=len(data_list),
                line=line_no,
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[])
            for key in ('ann_id', 'category_id'):
                if key in record:
                    info[key] = record[key]
            if not has_target:
                info['has_target'] = False
            data_list.append(info)
        check_not_empty(data_list, f'JSONL {self.source} {self.split}', self.ann_file)
        check_listed_files_exist(
            [(d['img_path'], f'{source}, line {d["line"]}') for d in data_list],
            f'JSONL {self.source} image')
        if uncategorised:
            print_log(f'JSONL {self.source} {self.split}: {uncategorised} sample(s) without a '
                      'known category; left out of the per-category table', logger='current')
        print_log(f'JSONL {self.source} {self.split}: {len(data_list)} expressions from '
                  f'{self.ann_file}', logger='current')
        return data_list
