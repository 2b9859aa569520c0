"""Writes a referring dataset as RSRefSeg2's JSONL exchange format, one file per split.

    python tools/dataset_converters/to_jsonl.py CONFIG OUT_DIR [--splits train val test] \
        [--name NAME] [--cfg-options k=v ...]
    python tools/dataset_converters/to_jsonl.py RISBenchDataset OUT_DIR --data-root data/RISBench \
        [--dataset-args layout=rsfm] [--mask-threshold 0]

The first form takes each split's dataset from the config's {train,val,test}_dataloader, the
second builds a registered dataset type. Any mmrrsis referring dataset works: the samples of
its data list are written in order, to OUT_DIR/<name>_<split>.jsonl, as
{"split", "image_id", "sent", "file_name", "segmentation"[, "category_id", "category_name",
"ann_id", "has_target"]}: ``image_id`` keeps its type, ``file_name`` is relative to the
dataset's image folder, RLE masks are copied (a list, as RRSIS-D's), mask files are binarised
as the config's LoadReferringAnnotations does and encoded as one RLE dict. No-target samples
get ``"has_target": false``, an mmrrsis extension other readers ignore. The command prints
the ReferringJsonlDataset settings that read the files back.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional, Tuple

try:
    import mmrrsis  # noqa: F401  (first: applies the compatibility layer)
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmrrsis  # noqa: F401
import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

from mmrrsis.datasets import LoadReferringAnnotations  # noqa: E402
from mmrrsis.registry import DATASETS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402

SPLITS = ('train', 'val', 'test')
NAMES = {'RefSegRSDataset': 'refsegrs', 'RRSISDDataset': 'rrsisd', 'RISBenchDataset': 'risbench'}
# Mask-file threshold per dataset type when no config names one (LoadReferringAnnotations').
THRESHOLDS = {'RISBenchDataset': 0}
DEFAULT_THRESHOLD = 50


def _inner(dataset):
    """The dataset that holds the files (inside a wrapper such as NoTargetDataset)."""
    return getattr(dataset, 'dataset', dataset)


def _segmentation(info: dict, loader: LoadReferringAnnotations):
    """The sample's mask as the JSONL writes it: its RLE list as is, else one RLE dict."""
    if info.get('rle') is not None:
        return [dict(size=[int(v) for v in r['size']],
                     counts=r['counts'].decode('ascii') if isinstance(r['counts'], bytes)
                     else r['counts']) for r in info['rle']]
    mask = loader.transform(dict(seg_map_path=info['seg_map_path']))['gt_seg_map']
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def sample_record(info: dict, split: str, img_root: str, loader: LoadReferringAnnotations) -> dict:
    """One JSONL object for a data-list entry.

    Args:
        info (dict): ``dataset.get_data_info(i)``.
        split (str): The split it belongs to.
        img_root (str): The dataset's image folder; ``file_name`` is relative to it.
        loader (LoadReferringAnnotations): Reads mask files with the dataset's threshold.
    """
    record = dict(split=split, image_id=info.get('image_id'), sent=info['expression'],
                  file_name=osp.relpath(info['img_path'], img_root).replace(os.sep, '/'),
                  segmentation=_segmentation(info, loader))
    if isinstance(info.get('category_id'), int):
        record['category_id'] = info['category_id']
    if info.get('category') is not None:
        record['category_name'] = info['category']
    if info.get('ann_id') is not None:
        record['ann_id'] = info['ann_id']
    if info.get('has_target') is False:
        record['has_target'] = False
    return record


def write_split(dataset, split: str, path: str, mask_threshold: int) -> Tuple[int, str]:
    """Writes every sample of ``dataset`` (one split) to ``path``.

    Returns:
        tuple: The number of lines and the image folder ``file_name`` is relative to.
    """
    img_root = _inner(dataset).data_prefix['img_path']
    loader = LoadReferringAnnotations(mask_threshold=mask_threshold)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='ascii') as f:
        for i in range(len(dataset)):
            f.write(json.dumps(sample_record(dataset.get_data_info(i), split, img_root,
                                             loader)) + '\n')
    return len(dataset), img_root


def _threshold(pipeline, dataset_type: str) -> int:
    for step in pipeline or []:
        if step.get('type') == 'LoadReferringAnnotations':
            return step.get('mask_threshold', DEFAULT_THRESHOLD)
    return THRESHOLDS.get(dataset_type, DEFAULT_THRESHOLD)


def dataset_cfg(args, split: str) -> Tuple[dict, int]:
    """The dataset config of one split (pipeline dropped) and its mask threshold."""
    if osp.isfile(args.source):
        cfg = Config.fromfile(args.source)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        ds = cfg[f'{split}_dataloader'].dataset.to_dict()
        inner = ds.get('dataset', ds)
    else:
        ds = inner = dict(type=args.source, data_root=args.data_root, **args.dataset_args)
    threshold = args.mask_threshold
    if threshold is None:
        threshold = _threshold(inner.get('pipeline'), inner['type'])
    inner.update(split=split, pipeline=[])
    if ds is not inner:
        ds['lazy_init'] = False
    return ds, threshold


def reader_settings(dataset, name: str, out_dir: str, img_root: str) -> dict:
    """The ReferringJsonlDataset arguments that read the written files back."""
    inner = _inner(dataset)
    settings = dict(type='ReferringJsonlDataset', data_root=inner.data_root,
                    img_prefix=osp.relpath(img_root, inner.data_root),
                    ann_file=osp.join(osp.abspath(out_dir), f'{name}_{{split}}.jsonl'))
    source = getattr(inner, 'source', name)
    settings['dataset'] = source if source in ('refsegrs', 'rrsisd', 'risbench') else 'risbench'
    if source != settings['dataset'] or name not in ('refsegrs', 'rrsisd', 'risbench'):
        settings['metainfo'] = dict(categories=tuple(inner.metainfo.get('categories', ())))
    return settings


def parse_args():
    parser = argparse.ArgumentParser(description='Write a referring dataset as JSONL')
    parser.add_argument('source', help='a config file, or a registered dataset type')
    parser.add_argument('out_dir', help='folder for <name>_<split>.jsonl')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS))
    parser.add_argument('--name', help='file name prefix (default: refsegrs, rrsisd or '
                        'risbench from the dataset type, else the type in lower case)')
    parser.add_argument('--data-root', help='dataset folder (with a dataset type)')
    parser.add_argument('--dataset-args', nargs='+', action=DictAction, default={},
                        help='more dataset arguments (with a dataset type), e.g. layout=rsfm')
    parser.add_argument('--mask-threshold', type=int,
                        help="mask-file threshold (default: the config's "
                        'LoadReferringAnnotations, else 0 for RISBench and 50 otherwise)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    args = parser.parse_args()
    if not osp.isfile(args.source) and args.data_root is None:
        parser.error(f'"{args.source}" is not a config file; a dataset type needs --data-root')
    return args


def main(argv: Optional[list] = None) -> None:
    if argv is not None:
        sys.argv = [sys.argv[0]] + argv
    args = parse_args()
    register_all_modules()
    settings = None
    for split in args.splits:
        cfg, threshold = dataset_cfg(args, split)
        dataset = DATASETS.build(cfg)
        inner_type = type(_inner(dataset)).__name__
        name = args.name or getattr(_inner(dataset), 'source', None) or NAMES.get(
            inner_type, inner_type.lower().replace('dataset', ''))
        path = osp.join(args.out_dir, f'{name}_{split}.jsonl')
        count, img_root = write_split(dataset, split, path, threshold)
        print(f'{split}: {count} lines -> {path}')
        settings = reader_settings(dataset, name, args.out_dir, img_root)
    print('read them back with (split filled in):')
    print(f'  dict({", ".join(f"{k}={v!r}" for k, v in settings.items())})')


if __name__ == '__main__':
    main()
