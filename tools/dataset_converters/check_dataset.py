"""Scans a RefSegRS-, RRSIS-D-, RRSIS-HR-, NWPU-Refer- or RISBench-layout dataset, or RSRefSeg2
JSONL files, once and reports every problem; exits 1 on fatal ones.

    python tools/dataset_converters/check_dataset.py {refsegrs,rrsisd,rrsishr,nwpu_refer} \
        DATA_ROOT [--splits train val test] [--max-examples 20]
    python tools/dataset_converters/check_dataset.py {risbench,risbench_rsfm} DATA_ROOT
    python tools/dataset_converters/check_dataset.py {jsonl_refsegrs,jsonl_rrsisd,jsonl_risbench} \
        DATA_ROOT          (reads DATA_ROOT/datainfo/<dataset>_<split>.jsonl)

The datasets stop at the first fatal problem; this scan keeps going so that a bad download
is diagnosed in one pass: samples per split, missing or undecodable files, empty
expressions, broken refs, mask/image size mismatches, image formats the loader converts,
and a histogram of the mask values. The report lists the counts first, then fatal problems
and warnings, each grouped by kind.

Fatal problems make training or testing fail (or silently learn from broken data); warnings
are handled by the loaders, as logged during training, and listed so they are not a
surprise.
"""
import argparse
import json
import os.path as osp
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

try:
    import mmrrsis  # noqa: F401  (first: applies the compatibility layer)
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmrrsis  # noqa: F401
import mmcv  # noqa: E402
import numpy as np  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

from mmrrsis.datasets.nwpu_refer import (ANN_FILES, IMG_DIRS, NO_TARGET,  # noqa: E402
                                         REFS_FILES, sentence_language)
from mmrrsis.datasets.jsonl import JSONL_SOURCES, as_compressed, rle_problem  # noqa: E402
from mmrrsis.datasets.refsegrs import read_phrase_file  # noqa: E402
from mmrrsis.datasets.risbench import (IMAGE_EXTENSIONS, LAYOUTS,  # noqa: E402
                                       risbench_category, scene_of)
from mmrrsis.datasets.rrsisd import (load_instances, load_refs, ref_problem,  # noqa: E402
                                     rle_of, sentence_text)
from mmrrsis.datasets.rrsishr import categories_of  # noqa: E402
from mmrrsis.datasets.utils import segmentation_rles  # noqa: E402

SPLITS = ('train', 'val', 'test')
MASK_THRESHOLD = 50
MAX_TOKENS = 20
MAX_EXAMPLES = 20
_JPEG_END = b'\xff\xd9'


@dataclass
class Problem:
    """One finding: ``kind`` groups findings in the report, ``where`` names file and line/ref."""
    fatal: bool
    kind: str
    where: str


@dataclass
class DatasetReport:
    """What one scan found.

    Attributes:
        dataset (str): 'refsegrs' or 'rrsisd'.
        data_root (str): The scanned folder.
        samples (dict): Samples (expressions) per split.
        image_formats (Counter): Images per decoded format, e.g. 'RGB uint8', 'gray uint16'.
        mask_values (Counter): Mask pixels per value (RefSegRS: file values; RRSIS-D: decoded
            RLE values, where a value above 1 means overlapping parts).
        problems (list[Problem]): Every fatal problem and warning.
    """
    dataset: str
    data_root: str
    samples: Dict[str, int] = field(default_factory=dict)
    image_formats: Counter = field(default_factory=Counter)
    mask_values: Counter = field(default_factory=Counter)
    problems: List[Problem] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """Whether any problem is fatal."""
        return any(p.fatal for p in self.problems)

    def add(self, fatal: bool, kind: str, where: str) -> None:
        self.problems.append(Problem(fatal, kind, where))

    def format(self, max_examples: int = MAX_EXAMPLES) -> str:
        """The report as text: counts first, then problems grouped by kind."""
        name = {'refsegrs': 'RefSegRS', 'rrsisd': 'RRSIS-D', 'rrsishr': 'RRSIS-HR',
                'nwpu_refer': 'NWPU-Refer', 'risbench': 'RISBench',
                'risbench_rsfm': 'RISBench (RSFM layout)', 'jsonl_refsegrs': 'RefSegRS JSONL',
                'jsonl_rrsisd': 'RRSIS-D JSONL', 'jsonl_risbench': 'RISBench JSONL'}[self.dataset]
        lines = [f'{name} dataset at {self.data_root}',
                 'samples: ' + (', '.join(f'{s} {n}' for s, n in self.samples.items()) or 'none')]
        if self.image_formats:
            lines.append('image formats: ' + ', '.join(
                f'{fmt} {n}' for fmt, n in self.image_formats.most_common()))
        if self.mask_values:
            total = sum(self.mask_values.values())
            lines.append('mask values (pixels): ' + ', '.join(
                f'{v}: {n} ({100 * n / total:.2f}%)' for v, n in sorted(self.mask_values.items())))
        for fatal, title in ((True, 'FATAL'), (False, 'WARNINGS')):
            groups: Dict[str, List[str]] = {}
            for p in self.problems:
                if p.fatal == fatal:
                    groups.setdefault(p.kind, []).append(p.where)
            if not groups:
                continue
            lines.append(f'{title}:')
            for kind, wheres in groups.items():
                lines.append(f'  {kind} ({len(wheres)}):')
                lines += [f'    {w}' for w in wheres[:max_examples]]
                if len(wheres) > max_examples:
                    lines.append(f'    ... and {len(wheres) - max_examples} more')
        n_fatal = sum(p.fatal for p in self.problems)
        lines.append(f'result: {n_fatal} fatal problem(s), '
                     f'{len(self.problems) - n_fatal} warning(s)')
        return '\n'.join(lines)


def _image_format(img: np.ndarray) -> Tuple[str, Optional[str]]:
    """Names a decoded image's format and says how LoadReferringImage treats it.

    Returns:
        tuple: (format such as 'RGB uint8', None when loaded as is, else 'converted' or
        'unsupported').
    """
    channels = 1 if img.ndim == 2 else img.shape[2] if img.ndim == 3 else 0
    kind = {1: 'gray', 2: 'gray+alpha', 3: 'RGB', 4: 'RGBA'}.get(channels, f'{channels}-channel')
    fmt = f'{kind} {img.dtype}'
    if channels not in (1, 2, 3, 4) or img.dtype not in (np.uint8, np.uint16):
        return fmt, 'unsupported'
    return fmt, None if fmt == 'RGB uint8' else 'converted'


def _read_image(path: str, where: str, report: DatasetReport) -> Optional[Tuple[int, int]]:
    """Decodes an image as the loader does; returns its (h, w), None when it is unusable."""
    with open(path, 'rb') as f:
        content = f.read()
    try:
        img = mmcv.imfrombytes(content, flag='unchanged', backend='cv2')
    except Exception:
        img = None
    if img is None or img.size == 0:
        report.add(True, 'undecodable image', where)
        return None
    if path.lower().endswith(('.jpg', '.jpeg')) and _JPEG_END not in content[-64:]:
        report.add(True, 'truncated JPEG (no end-of-image marker)', where)
    fmt, handling = _image_format(img)
    report.image_formats[fmt] += 1
    if handling == 'unsupported':
        report.add(True, 'image format LoadReferringImage refuses', f'{where}: {fmt}')
    elif handling == 'converted':
        report.add(False, 'image converted to RGB uint8 by LoadReferringImage', f'{where}: {fmt}')
    return img.shape[:2]


def _check_expression(expression: str, where: str, report: DatasetReport) -> None:
    if not expression:
        report.add(True, 'empty expression', where)
    elif len(expression.split()) > MAX_TOKENS - 2:
        report.add(False, f'expression truncated to {MAX_TOKENS} tokens (more than '
                   f'{MAX_TOKENS - 2} words)', where)


def check_refsegrs(data_root: str, splits: Sequence[str] = SPLITS) -> DatasetReport:
    """Scans a RefSegRS-layout dataset (see :class:`~mmrrsis.datasets.RefSegRSDataset`).

    Args:
        data_root (str): Dataset folder.
        splits (Sequence[str]): Splits to scan. Defaults to ('train', 'val', 'test').

    Returns:
        DatasetReport: Every finding; ``report.fatal`` tells whether training would fail.
    """
    report = DatasetReport('refsegrs', data_root)
    if not osp.isdir(data_root):
        report.add(True, 'missing data root', data_root)
        return report
    images: Dict[str, str] = {}  # image id -> where it is first used
    for split in splits:
        phrase_file = f'output_phrase_{split}.txt'
        try:
            entries = read_phrase_file(osp.join(data_root, phrase_file))
        except (OSError, ValueError) as e:
            report.add(True, 'unreadable phrase file', str(e))
            continue
        report.samples[split] = len(entries)
        if not entries:
            report.add(True, 'empty split', f'{phrase_file} lists no sample')
        for line_no, img_id, expression in entries:
            where = f'{phrase_file}, line {line_no}'
            _check_expression(expression, f'{where}: image id "{img_id}"', report)
            images.setdefault(img_id, where)
    for img_id, where in images.items():
        _check_pair(data_root, f'images/{img_id}.tif', f'masks/{img_id}.tif', where, report,
                    _read_mask)
    return report


def _check_pair(data_root: str, img_file: str, mask_file: str, where: str,
                report: DatasetReport, read_mask: Callable) -> None:
    """Reports a missing or unreadable image or mask of one sample (listed at ``where``) and
    a mask whose size differs from its image's; ``read_mask(path, rel_path, report)`` reads
    the mask's (H, W) as :func:`_read_mask` does."""
    img_shape = mask_shape = None
    for rel_path in (img_file, mask_file):
        if not osp.isfile(osp.join(data_root, rel_path)):
            report.add(True, 'missing file', f'{rel_path} ({where})')
    if osp.isfile(osp.join(data_root, img_file)):
        img_shape = _read_image(osp.join(data_root, img_file), img_file, report)
    if osp.isfile(osp.join(data_root, mask_file)):
        mask_shape = read_mask(osp.join(data_root, mask_file), mask_file, report)
    if img_shape and mask_shape and img_shape != mask_shape:
        report.add(False, 'mask size differs from image (resized nearest by the loader)',
                   f'{mask_file}: {mask_shape[0]}x{mask_shape[1]}, image '
                   f'{img_shape[0]}x{img_shape[1]}')


def _read_mask(path: str, where: str, report: DatasetReport) -> Optional[Tuple[int, int]]:
    try:
        with open(path, 'rb') as f:
            mask = mmcv.imfrombytes(f.read(), flag='unchanged', backend='pillow')
    except Exception:
        mask = None
    if mask is None or mask.size == 0:
        report.add(True, 'undecodable mask', where)
        return None
    if mask.ndim == 3:
        mask = mask[..., 0]
    values, counts = np.unique(mask, return_counts=True)
    report.mask_values.update(dict(zip(values.tolist(), counts.tolist())))
    if not np.isin(values, (0, 255)).all():
        report.add(False, f'mask values other than 0/255 (binarised with > {MASK_THRESHOLD})',
                   f'{where}: {values[:8].tolist()}')
    if values.max() <= MASK_THRESHOLD:
        report.add(False, 'mask without target pixels', where)
    return mask.shape[:2]


def check_rrsisd(data_root: str, splits: Sequence[str] = SPLITS,
                 refs_file: str = 'rrsisd/refs(unc).p',
                 ann_file: str = 'rrsisd/instances.json',
                 img_dir: str = 'images/rrsisd/JPEGImages',
                 dataset: str = 'rrsisd') -> DatasetReport:
    """Scans an RRSIS-D-layout dataset (see :class:`~mmrrsis.datasets.RRSISDDataset`).

    Args:
        data_root (str): Dataset folder.
        splits (Sequence[str]): Splits to scan. Defaults to ('train', 'val', 'test').
        refs_file (str): Refs pickle relative to ``data_root``. Defaults to 'rrsisd/refs(unc).p'.
        ann_file (str): Annotation json relative to ``data_root``.
            Defaults to 'rrsisd/instances.json'.
        img_dir (str): Image folder relative to ``data_root``.
            Defaults to 'images/rrsisd/JPEGImages'.
        dataset (str): 'rrsisd', or 'rrsishr' (RRSIS-HR: polygons accepted, categories read
            from the annotation file). Defaults to 'rrsisd'.

    Returns:
        DatasetReport: Every finding; ``report.fatal`` tells whether training would fail.
    """
    report = DatasetReport(dataset, data_root)
    if not osp.isdir(data_root):
        report.add(True, 'missing data root', data_root)
        return report
    polygons = dataset == 'rrsishr'
    name = 'RRSIS-HR' if polygons else 'RRSIS-D'
    try:
        refs = load_refs(osp.join(data_root, refs_file), name)
        instances = load_instances(osp.join(data_root, ann_file), name)
        if polygons:
            categories_of(instances, ann_file, name)
    except (OSError, ValueError) as e:
        report.add(True, 'unreadable annotation file', str(e))
        return report
    anns = {ann['id']: ann for ann in instances['annotations']}
    recorded = {img['id']: (img.get('height'), img.get('width')) for img in instances['images']}
    other_splits = Counter(str(r.get('split')) for r in refs if r.get('split') not in SPLITS)
    for name, n in other_splits.items():
        report.add(False, 'refs with an unknown split name (ignored)', f'"{name}": {n} ref(s)')
    report.samples = {split: 0 for split in splits}
    used: Dict[str, list] = {}  # image file -> [(where, image id, ann id, annotation)]
    for ref in refs:
        if ref.get('split') not in splits:
            continue
        where = f'{refs_file} (ref_id {ref.get("ref_id")})'
        problem = ref_problem(ref, anns, where, ann_file, polygons)
        if problem:
            report.add(True, 'unusable ref', problem)
            continue
        for i, sent in enumerate(ref['sentences']):
            report.samples[ref['split']] += 1
            _check_expression(sentence_text(sent), f'{where}, sentence {i}', report)
        used.setdefault(ref['file_name'], []).append(
            (where, ref['image_id'], ref['ann_id'], anns[ref['ann_id']]))
    for split, n in report.samples.items():
        if n == 0:
            report.add(True, 'empty split', f'{refs_file} has no ref of split "{split}"')
    for file_name, users in used.items():
        rel_path = osp.join(img_dir, file_name)
        img_shape = None
        if not osp.isfile(osp.join(data_root, rel_path)):
            report.add(True, 'missing file', f'{rel_path} ({users[0][0]})')
        else:
            img_shape = _read_image(osp.join(data_root, rel_path), rel_path, report)
            size = recorded.get(users[0][1])
            if img_shape and size and tuple(size) != img_shape:
                report.add(False, 'image size in instances.json differs from the file',
                           f'{rel_path}: json {size[0]}x{size[1]}, '
                           f'file {img_shape[0]}x{img_shape[1]}')
        for where, image_id, ann_id, ann in users:
            rles = rle_of(ann)
            if polygons:
                try:
                    rles = segmentation_rles(ann.get('segmentation'),
                                             *(recorded.get(image_id) or (None, None)),
                                             f'annotation {ann_id} ({where})')
                except ValueError as e:
                    report.add(True, 'malformed segmentation', str(e))
                    continue
            _check_rle(rles, ann_id, where, img_shape, report)
    return report


def check_rrsishr(data_root: str, splits: Sequence[str] = SPLITS) -> DatasetReport:
    """Scans an RRSIS-HR-layout dataset (see :class:`~mmrrsis.datasets.RRSISHRDataset`)."""
    return check_rrsisd(data_root, splits, 'rrsishr/refs(unc).p', 'rrsishr/instances.json',
                        'images/rrsishr/JPEGImages', dataset='rrsishr')


def _check_rle(rles: list, ann_id, where: str, img_shape: Optional[Tuple[int, int]],
               report: DatasetReport) -> Optional[np.ndarray]:
    """Decodes an annotation's RLE list, counts its values; returns the 0/1 mask or None."""
    try:
        mask = mask_utils.decode(rles)
    except Exception as e:
        report.add(True, 'undecodable RLE', f'annotation {ann_id} ({where}): {e}')
        return None
    if mask.ndim == 3:
        mask = mask.sum(axis=2)
    values, counts = np.unique(mask, return_counts=True)
    report.mask_values.update(dict(zip(values.tolist(), counts.tolist())))
    if values.max() == 0:
        report.add(False, 'mask without target pixels', f'annotation {ann_id} ({where})')
    shape = mask.shape[:2]
    if img_shape and shape != img_shape:
        report.add(False, 'RLE size differs from image (resized nearest by the loader)',
                   f'annotation {ann_id} ({where}): RLE {shape[0]}x{shape[1]}, image '
                   f'{img_shape[0]}x{img_shape[1]}')
    return (mask > 0).astype(np.uint8)


def check_nwpu_refer(data_root: str, splits: Sequence[str] = SPLITS) -> DatasetReport:
    """Scans an NWPU-Refer dataset (see :class:`~mmrrsis.datasets.NWPUReferDataset`).

    Samples are counted as the loader's defaults give them: English expressions, refs that
    share one on an image merged. Besides what the other scans report it counts the
    sentences per language and lists the multi-target expressions, the no-target refs whose
    annotation holds a mask (ignored by the loader) or is missing, and refs without an
    English sentence.
    """
    report = DatasetReport('nwpu_refer', data_root)
    if not osp.isdir(data_root):
        report.add(True, 'missing data root', data_root)
        return report
    found = [next((n for n in names if osp.isfile(osp.join(data_root, n))), None)
             for names in (REFS_FILES, ANN_FILES)]
    if None in found:
        report.add(True, 'missing annotation file', ' or '.join(
            (REFS_FILES, ANN_FILES)[found.index(None)]) + f' in {data_root}')
        return report
    refs_file, ann_file = found
    try:
        refs = load_refs(osp.join(data_root, refs_file), 'NWPU-Refer')
        instances = load_instances(osp.join(data_root, ann_file), 'NWPU-Refer')
        names = categories_of(instances, ann_file, 'NWPU-Refer')
    except (OSError, ValueError) as e:
        report.add(True, 'unreadable annotation file', str(e))
        return report
    no_target = {i for i, n in names.items() if n.strip().lower() == NO_TARGET}
    images = {img['id']: img for img in instances['images']}
    anns = {ann['id']: ann for ann in instances['annotations']}
    for name, n in Counter(str(r.get('split')) for r in refs
                           if r.get('split') not in SPLITS).items():
        report.add(False, 'refs with an unknown split name (ignored)', f'"{name}": {n} ref(s)')
    report.samples = {split: 0 for split in splits}
    languages: Counter = Counter()
    groups: Dict[tuple, list] = {}  # (split, image id, English text) -> [(ref_id, is target)]
    used: Dict[int, list] = {}  # image id -> [(where, annotation or None)]
    for ref in refs:
        if ref.get('split') not in splits:
            continue
        where = f'{refs_file} (ref_id {ref.get("ref_id")})'
        image = images.get(ref.get('image_id'))
        sentences = ref.get('sentences')
        if image is None or 'file_name' not in image or not isinstance(sentences, list) or \
                not sentences:
            report.add(True, 'unusable ref', f'{where}: no sentences, or image_id '
                       f'{ref.get("image_id")} not listed with a file_name in {ann_file}')
            continue
        ann = anns.get(ref.get('ann_id'))
        category_id = ref.get('category_id', (ann or {}).get('category_id'))
        if ann is not None and ann.get('category_id') not in (None, category_id):
            report.add(True, 'ref and annotation name different categories',
                       f'{where}: {category_id}, annotation {ann["id"]}: {ann["category_id"]}')
        if category_id not in names:
            report.add(True, 'unknown category', f'{where}: category_id {category_id!r}')
            continue
        target = category_id not in no_target
        if ann is None:
            report.add(target, 'object ref whose annotation is missing' if target else
                       'no-target ref whose annotation is missing (loaded with an empty mask)',
                       f'{where}: ann_id {ref.get("ann_id")}')
            if target:
                continue
        elif not target and ann.get('segmentation'):
            report.add(False, 'no-target ref whose annotation holds a mask (ignored: the loader '
                       'gives it an empty mask)', f'{where}: annotation {ann["id"]}')
        english = []
        for i, sent in enumerate(sentences):
            text = sentence_text(sent)
            _check_expression(text, f'{where}, sentence {i}', report)
            languages[sentence_language(text)] += bool(text)
            if text and sentence_language(text) == 'en':
                english.append(' '.join(text.split()))
        if not english:
            report.add(False, 'ref without an English sentence (left out with language="en")',
                       where)
        for text in english:
            groups.setdefault((ref['split'], image['id'], text), []).append(
                (ref.get('ref_id'), target))
        used.setdefault(image['id'], []).append((where, ann if target else None))
    negatives = Counter()
    for (split, image_id, text), members in groups.items():
        report.samples[split] += 1
        negatives[split] += not members[0][1]
        if len({t for _, t in members}) > 1:
            report.add(True, 'expression shared by no-target and object refs',
                       f'image {image_id}, "{text}": refs {[r for r, _ in members]}')
        elif len(members) > 1 and members[0][1]:
            report.add(False, 'multi-target expression (one sample, the union of its refs)',
                       f'image {image_id}, "{text}": refs {[r for r, _ in members]}')
    for split, n in report.samples.items():
        if n == 0:
            report.add(True, 'empty split', f'{refs_file} has no English expression of split '
                       f'"{split}"')
    if sum(negatives.values()):
        report.add(False, 'no-target expressions (empty mask, has_target=False)',
                   ', '.join(f'{split} {negatives[split]} of {n}'
                             for split, n in report.samples.items()))
    if languages:
        report.add(False, 'sentences per language (language="en" keeps en)',
                   ', '.join(f'{k} {n}' for k, n in sorted(languages.items())))
    for image_id, users in used.items():
        image = images[image_id]
        paths = [osp.join(d, image['file_name']) for d in IMG_DIRS]
        rel_path = next((p for p in paths if osp.isfile(osp.join(data_root, p))), None)
        img_shape = None
        if rel_path is None:
            report.add(True, 'missing file', f'{paths[0]} ({users[0][0]})')
        else:
            img_shape = _read_image(osp.join(data_root, rel_path), rel_path, report)
            size = (image.get('height'), image.get('width'))
            if img_shape and tuple(size) != img_shape:
                report.add(False, f'image size in {ann_file} differs from the file',
                           f'{rel_path}: json {size[0]}x{size[1]}, '
                           f'file {img_shape[0]}x{img_shape[1]}')
        checked = set()
        for where, ann in users:
            if ann is None or ann['id'] in checked:
                continue
            checked.add(ann['id'])
            try:
                rles = segmentation_rles(ann.get('segmentation'), image.get('height'),
                                         image.get('width'), f'annotation {ann["id"]} ({where})')
            except ValueError as e:
                report.add(True, 'malformed segmentation', str(e))
                continue
            _check_rle(rles, ann['id'], where, img_shape, report)
    return report


# RISBench train files DiCoR's loader drops without saying why (spec: report, never skip).
DICOR_SKIPPED = (
    'train_12443_2.png', 'train_11904_8.png', 'train_11818_2.png', 'train_11785_0.png',
    'train_11021_1.png', 'train_10698_0.png', 'train_10222_0.png', 'train_9598_7.png',
    'train_9405_1.png', 'train_8518_1.png', 'train_7581_3.png', 'train_7222_1.png',
    'train_7008_0.png', 'train_6194_0.png', 'train_6194_1.png', 'train_819_1.png')


def _read_risbench_mask(path: str, where: str,
                        report: DatasetReport) -> Optional[Tuple[int, int]]:
    """Reads a RISBench mask as the loader does (channel 0, target where > 0)."""
    try:
        with open(path, 'rb') as f:
            mask = mmcv.imfrombytes(f.read(), flag='unchanged', backend='pillow')
    except Exception:
        mask = None
    if mask is None or mask.size == 0:
        report.add(True, 'undecodable mask', where)
        return None
    if mask.ndim == 3:
        report.add(False, f'{mask.shape[2]}-channel mask (channel 0 is read)', where)
        mask = mask[..., 0]
    values, counts = np.unique(mask, return_counts=True)
    report.mask_values.update(dict(zip(values.tolist(), counts.tolist())))
    if not np.isin(values, (0, 255)).all():
        report.add(False, 'mask values other than 0/255 (binarised with > 0)',
                   f'{where}: {values[:8].tolist()}')
    if values.max() == 0:
        report.add(False, 'mask without target pixels', where)
    return mask.shape[:2]


def _report_dicor_skipped(files: Sequence[str], report: DatasetReport) -> None:
    """Says, for each file DiCoR drops, what this scan found odd about it (or nothing)."""
    for name in DICOR_SKIPPED:
        if name not in files:
            continue
        found = [f'{p.kind}' for p in report.problems if name in p.where]
        report.add(False, 'file DiCoR skips (reason not given)',
                   f'{name}: ' + ('; '.join(found) if found else 'nothing odd found'))


def check_risbench(data_root: str, splits: Sequence[str] = SPLITS,
                   layout: str = 'crobim') -> DatasetReport:
    """Scans a RISBench dataset (see :class:`~mmrrsis.datasets.RISBenchDataset`).

    Besides missing and undecodable files it reports blank lines, ids listed more than once,
    expressions naming none of the 26 classes, scenes found in more than one split, 3-channel
    and non-0/255 masks, empty masks, and what is odd about the files DiCoR skips.

    Args:
        data_root (str): Dataset folder.
        splits (Sequence[str]): Splits to scan. Defaults to ('train', 'val', 'test').
        layout (str): 'crobim' or 'rsfm'. Defaults to 'crobim'.

    Returns:
        DatasetReport: Every finding; ``report.fatal`` tells whether training would fail.
    """
    report = DatasetReport('risbench' if layout == 'crobim' else f'risbench_{layout}', data_root)
    if not osp.isdir(data_root):
        report.add(True, 'missing data root', data_root)
        return report
    img_dir, mask_dir, phrase_pattern = LAYOUTS[layout]
    files: Dict[str, str] = {}  # file name -> where it is first listed
    seen: Dict[str, str] = {}
    scenes: Dict[str, set] = {}
    for split in splits:
        phrase_file = phrase_pattern.format(split=split)
        try:
            entries = read_phrase_file(osp.join(data_root, phrase_file), 'RISBench')
        except (OSError, ValueError) as e:
            report.add(True, 'unreadable phrase file', str(e))
            continue
        report.samples[split] = len(entries)
        if not entries:
            report.add(True, 'empty split', f'{phrase_file} lists no sample')
        numbers = [0] + [line_no for line_no, _, _ in entries]
        for prev, nxt in zip(numbers, numbers[1:]):
            for line_no in range(prev + 1, nxt):
                report.add(False, 'blank line (skipped)', f'{phrase_file}, line {line_no}')
        for line_no, img_id, expression in entries:
            where = f'{phrase_file}, line {line_no}'
            _check_expression(expression, f'{where}: image id "{img_id}"', report)
            if expression and risbench_category(expression) is None:
                report.add(False, 'expression names none of the 26 classes (category None)',
                           f'{where}: image id "{img_id}": "{expression}"')
            if img_id in seen:
                report.add(False, 'image id listed more than once (each line is a sample)',
                           f'{where}: "{img_id}", first at {seen[img_id]}')
            seen.setdefault(img_id, where)
            scenes.setdefault(scene_of(img_id), set()).add(split)
            name = img_id if img_id.lower().endswith(IMAGE_EXTENSIONS) else img_id + '.png'
            files.setdefault(name, where)
    for scene, in_splits in scenes.items():
        if len(in_splits) > 1:
            report.add(False, 'scene in more than one split',
                       f'{scene}: {", ".join(s for s in SPLITS if s in in_splits)}')
    for name, where in files.items():
        _check_pair(data_root, f'{img_dir}/{name}', f'{mask_dir}/{name}', where, report,
                    _read_risbench_mask)
    _report_dicor_skipped(list(files), report)
    return report


def check_risbench_rsfm(data_root: str, splits: Sequence[str] = SPLITS) -> DatasetReport:
    """Scans a RISBench dataset in the RSFM / LSCF re-layout."""
    return check_risbench(data_root, splits, layout='rsfm')


def check_jsonl(data_root: str, splits: Sequence[str] = SPLITS,
                source: str = 'risbench') -> DatasetReport:
    """Scans RSRefSeg2 JSONL files (see :class:`~mmrrsis.datasets.ReferringJsonlDataset`).

    Reads ``datainfo/<source>_<split>.jsonl`` under ``data_root`` and the images under the
    source's image folder; reports bad lines (JSON, keys, split, corrupt RLE), missing or
    undecodable images, RLE sizes that differ from the image, empty masks, blank lines,
    samples without a category, and what is odd about the files DiCoR skips.
    """
    report = DatasetReport(f'jsonl_{source}', data_root)
    if not osp.isdir(data_root):
        report.add(True, 'missing data root', data_root)
        return report
    img_dir, categories, category_of = JSONL_SOURCES[source]
    users: Dict[str, List[Tuple[str, list]]] = {}  # file name -> [(where, rles)]
    for split in splits:
        rel = f'datainfo/{source}_{split}.jsonl'
        path = osp.join(data_root, rel)
        if not osp.isfile(path):
            report.add(True, 'missing JSONL file', rel)
            continue
        with open(path, 'rb') as f:
            raw_lines = f.read().splitlines()
        count = 0
        for line_no, raw in enumerate(raw_lines, start=1):
            where = f'{rel}, line {line_no}'
            try:
                text = raw.decode('utf-8').strip()
                record = json.loads(text) if text else None
            except (UnicodeDecodeError, ValueError):
                report.add(True, 'not a JSON object', where)
                continue
            if record is None:
                report.add(False, 'blank line (skipped)', where)
                continue
            missing = [k for k in ('sent', 'file_name', 'segmentation')
                       if not isinstance(record, dict) or k not in record]
            if missing:
                report.add(True, 'line without the required keys', f'{where}: {missing}')
                continue
            count += 1
            if record.get('split', split) != split:
                report.add(True, 'split differs from the file\'s',
                           f'{where}: "{record.get("split")}"')
            expression = str(record['sent']).strip()
            _check_expression(expression, where, report)
            name = record.get('category_name')
            if name not in categories and expression and category_of(expression) is None:
                report.add(False, 'sample without a category', f'{where}: "{expression}"')
            seg = record['segmentation']
            rles = seg if isinstance(seg, list) else [seg]
            problems = [rle_problem(r) for r in rles] or ['empty list']
            bad = [p for p in problems if p]
            if bad:
                report.add(True, 'corrupt RLE', f'{where}: {bad[0]}')
                continue
            users.setdefault(str(record['file_name']), []).append(
                (where, [as_compressed(r) for r in rles]))
        report.samples[split] = count
    for file_name, uses in users.items():
        rel_path = f'{img_dir}/{file_name}'
        img_shape = None
        if not osp.isfile(osp.join(data_root, rel_path)):
            report.add(True, 'missing file', f'{rel_path} ({uses[0][0]})')
        else:
            img_shape = _read_image(osp.join(data_root, rel_path), rel_path, report)
        for where, rles in uses:
            _check_rle(rles, file_name, where, img_shape, report)
    _report_dicor_skipped(list(users), report)
    return report


CHECKERS = {'refsegrs': check_refsegrs, 'rrsisd': check_rrsisd, 'rrsishr': check_rrsishr,
            'nwpu_refer': check_nwpu_refer}
CHECKERS.update({'risbench': check_risbench, 'risbench_rsfm': check_risbench_rsfm,
                 **{f'jsonl_{source}': (lambda root, splits, source=source:
                                        check_jsonl(root, splits, source))
                    for source in JSONL_SOURCES}})


def check_dataset(dataset: str, data_root: str, splits: Sequence[str] = SPLITS) -> DatasetReport:
    """Scans a dataset of the given layout, one of :data:`CHECKERS`."""
    if dataset not in CHECKERS:
        raise ValueError(f'unknown dataset layout "{dataset}"; choose one of {sorted(CHECKERS)}')
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise ValueError(f'unknown split(s) {bad}; choose from {SPLITS}')
    return CHECKERS[dataset](data_root, splits)


def parse_args():
    parser = argparse.ArgumentParser(description='Check a referring segmentation dataset')
    parser.add_argument('format', choices=sorted(CHECKERS), help='dataset layout')
    parser.add_argument('data_root', help='dataset folder')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS),
                        help='splits to scan (default: all three)')
    parser.add_argument('--max-examples', type=int, default=20,
                        help='findings listed per kind (default: 20)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    report = check_dataset(args.format, args.data_root, args.splits)
    print(report.format(args.max_examples))
    return 1 if report.fatal else 0


if __name__ == '__main__':
    sys.exit(main())
