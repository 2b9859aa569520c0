"""Writes a synthetic dataset with RSRefSeg2's JSONL files
(``datainfo/<dataset>_<split>.jsonl``)."""
import json
import os
import os.path as osp
import pickle
from typing import Sequence

import numpy as np
import tifffile
from PIL import Image
from pycocotools import mask as mask_utils

from .refsegrs_writer import make_refsegrs
from .risbench_writer import make_risbench
from .rrsisd_writer import make_rrsisd
from .splits import SPLITS

JSONL_DATASETS = ('refsegrs', 'rrsisd', 'risbench')


def _raw_rle(mask: np.ndarray) -> dict:
    """RLE of the raw grey mask, not binarised, as RSRefSeg2's txt-set converters make it."""
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def _phrase_lines(path: str) -> list:
    with open(path, encoding='utf-8') as f:
        return [line.strip().split(' ', 1) for line in f if line.strip()]


def _txt_records(out_dir: str, dataset: str, split: str) -> list:
    """Lines of a RefSegRS or RISBench split: (split, image_id, sent, file_name, segmentation)."""
    records = []
    for img_id, sent in _phrase_lines(osp.join(out_dir, f'output_phrase_{split}.txt')):
        if dataset == 'refsegrs':
            file_name = img_id + '.tif'
            mask = tifffile.imread(osp.join(out_dir, 'masks', file_name))
        else:
            file_name = img_id
            mask = np.asarray(Image.open(osp.join(out_dir, 'mask', file_name)))
        if mask.ndim == 3:
            mask = mask[..., 0]
        records.append(dict(split=split, image_id=img_id, sent=' '.join(sent.split(' ')),
                            file_name=file_name, segmentation=_raw_rle(mask)))
    return records


def _rrsisd_records(out_dir: str, split: str) -> list:
    """Lines of an RRSIS-D split: int ids, the category fields, corner bbox and an ``area``
    that is not the mask's pixel count, as in the real file."""
    with open(osp.join(out_dir, 'rrsisd', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    with open(osp.join(out_dir, 'rrsisd', 'instances.json'), encoding='utf-8') as f:
        instances = json.load(f)
    anns = {ann['id']: ann for ann in instances['annotations']}
    names = {c['id']: c['name'] for c in instances['categories']}
    records = []
    for ref in refs:
        if ref['split'] != split:
            continue
        ann = anns[ref['ann_id']]
        x, y, w, h = ann['bbox']
        height, width = ann['segmentation'][0]['size']
        records.append(dict(
            split=split, image_id=ref['image_id'], sent=ref['sentences'][0]['sent'],
            file_name=ref['file_name'], category_id=ref['category_id'],
            category_name=names[ref['category_id']], ann_id=ref['ann_id'],
            bbox=[int(x), int(y), int(x + w), int(y + h)], segmentation=ann['segmentation'],
            area=int(height * width * 0.42)))
    return records


def make_jsonl(out_dir: str,
               num_images: int,
               dataset: str = 'risbench',
               seed: int = 0,
               size: int = 64,
               split_ratios: Sequence[float] = (0.6, 0.2, 0.2)) -> dict:
    """Writes a synthetic ``dataset`` in its own layout plus RSRefSeg2's JSONL files for it.

    The JSONL lines follow RSRefSeg2's converters: keys in their order; RefSegRS and RISBench
    lines with a str ``image_id`` and one RLE dict made from the raw 0/255 mask; RRSIS-D lines
    with an int ``image_id``, the category fields, a corner ``bbox``, the list of one RLE and a
    meaningless ``area``. Each ``refsegrs_*.jsonl`` has a blank second line. The images stay
    where the layout puts them (``ReferringJsonlDataset``'s default ``img_prefix``).

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images (RISBench: scenes).
        dataset (str): 'refsegrs', 'rrsisd' or 'risbench'. Defaults to 'risbench'.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Image side in pixels, at least 48. Defaults to 64.
        split_ratios (Sequence[float]): Train/val/test shares. Defaults to (0.6, 0.2, 0.2).

    Returns:
        dict: The layout writer's summary plus ``jsonl_files`` (split -> path) and
        ``jsonl_lines`` (split -> list of the written objects).
    """
    if dataset not in JSONL_DATASETS:
        raise ValueError(f'dataset must be one of {JSONL_DATASETS}, got "{dataset}"')
    writers = dict(refsegrs=make_refsegrs, rrsisd=make_rrsisd, risbench=make_risbench)
    result = writers[dataset](out_dir, num_images, seed=seed, size=size,
                              split_ratios=split_ratios)
    os.makedirs(osp.join(out_dir, 'datainfo'), exist_ok=True)
    result['jsonl_files'], result['jsonl_lines'] = {}, {}
    for split in SPLITS:
        if dataset == 'rrsisd':
            records = _rrsisd_records(out_dir, split)
        else:
            records = _txt_records(out_dir, dataset, split)
        lines = [json.dumps(r) + '\n' for r in records]
        if dataset == 'refsegrs' and lines:
            lines.insert(1, '\n')
        path = osp.join(out_dir, 'datainfo', f'{dataset}_{split}.jsonl')
        with open(path, 'w', encoding='ascii') as f:
            f.writelines(lines)
        result['jsonl_files'][split] = path
        result['jsonl_lines'][split] = records
    return result
