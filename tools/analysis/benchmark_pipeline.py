"""Per-sample cost of a config's data pipeline plus tokenization, on one core.

Generates (once) a small synthetic set in a real dataset's layout -- RRSIS-D by default:
800x800 JPEGs, RLE masks in ``instances.json``, ``refs(unc).p`` -- builds the config's
training dataset on it with the config's pipeline (for ``btdnet_swinb_rrsisd.py``: JPEG
decoding, RLE decoding, resize to 512x512, NLTK key-phrase masking, packing), and times
``dataset[i]`` over the samples, then the data preprocessor's ``tokenize`` of each sample's
expression (WordPiece, ``max_length`` tokens, key phrase replaced by [PAD] in
``masked_ids``).

Each pass over the set is timed; the first pass includes one-off costs (loading the NLTK
tagger, file caches) and is reported apart. Wall time and process CPU time are both given:
on a shared machine the CPU time is the better measure of the cost, and with one thread
they agree when the machine is idle. OpenCV and torch are limited to one thread (as
mmengine's ``opencv_num_threads=0`` and one thread per data worker do in training), so the
figures are per core. ``--breakdown`` times each transform of the pipeline separately.

NLTK's tagger data is looked up as NLTK does (e.g. ``NLTK_DATA=/path/to/nltk_data``).

Example::

    NLTK_DATA=/path/to/nltk_data python tools/analysis/benchmark_pipeline.py \\
        configs/btdnet/btdnet_swinb_rrsisd.py --num-images 20 --breakdown
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import cv2  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmrrsis.datasets.synthetic import make_refsegrs, make_rrsisd  # noqa: E402
from mmrrsis.registry import DATASETS, MODELS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402

GENERATORS = {'RRSISDDataset': make_rrsisd, 'RefSegRSDataset': make_refsegrs}


def parse_args():
    parser = argparse.ArgumentParser(description='Data pipeline + tokenization ms per sample')
    parser.add_argument('config', nargs='?', default='configs/btdnet/btdnet_swinb_rrsisd.py')
    parser.add_argument('--data-root', default=None,
                        help='synthetic set to use or create (default: /tmp/mmrrsis_bench_'
                        '<dataset>_<size>)')
    parser.add_argument('--num-images', type=int, default=20)
    parser.add_argument('--size', type=int, default=800, help='rendered image side')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--passes', type=int, default=3, help='timed passes over the set')
    parser.add_argument('--breakdown', action='store_true', help='time every transform')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                        help='where tokenize puts its tensors')
    parser.add_argument('--flip', action='store_true',
                        help='add a ReferringRandomFlip (prob 0.5, horizontal/vertical, '
                        'rewriting the expression) after Resize, as the synthetic configs do')
    return parser.parse_args()


def build_dataset(cfg: Config, split: str, data_root: str, flip: bool = False):
    loader = cfg[f'{split}_dataloader'] if split != 'train' else cfg.train_dataloader
    dataset_cfg = loader.dataset.copy()
    dataset_cfg.data_root = data_root
    if flip:
        pipeline = list(dataset_cfg.pipeline)
        at = next(i for i, t in enumerate(pipeline) if t['type'] == 'Resize') + 1
        pipeline.insert(at, dict(type='ReferringRandomFlip', prob=0.5,
                                 direction=['horizontal', 'vertical']))
        dataset_cfg.pipeline = pipeline
    return DATASETS.build(dataset_cfg)


def timed_pass(fn: Callable[[int], None], num: int) -> Dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(num):
        fn(i)
    return dict(wall=(time.perf_counter() - wall) / num * 1e3,
                cpu=(time.process_time() - cpu) / num * 1e3)


def report(name: str, passes: List[Dict[str, float]]) -> None:
    first, rest = passes[0], passes[1:] or passes
    wall = statistics.median(p['wall'] for p in rest)
    cpu = statistics.median(p['cpu'] for p in rest)
    print(f'  {name:34s} {wall:8.2f} ms wall {cpu:8.2f} ms CPU   (first pass {first["wall"]:.2f} '
          'ms wall)')


def main():
    args = parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    register_all_modules()
    MMLogger.get_instance('mmrrsis_pipeline_benchmark', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    dataset_type = cfg.train_dataloader.dataset.type
    if dataset_type not in GENERATORS:
        raise SystemExit(f'{args.config}: no synthetic generator for {dataset_type}; '
                         f'supported: {sorted(GENERATORS)}')
    data_root = args.data_root or f'/tmp/mmrrsis_bench_{dataset_type}_{args.size}'
    vocab = osp.join(data_root, 'bert_vocab', 'vocab.txt')
    if not osp.exists(vocab):
        print(f'generating {args.num_images} synthetic {dataset_type} images of '
              f'{args.size}x{args.size} in {data_root}')
        GENERATORS[dataset_type](data_root, args.num_images, size=args.size)
    dataset = build_dataset(cfg, args.split, data_root, args.flip)
    num = len(dataset)
    preprocessor_cfg = cfg.model.data_preprocessor.copy()
    preprocessor_cfg.tokenizer = vocab
    preprocessor = MODELS.build(preprocessor_cfg)

    samples = [dataset[i] for i in range(num)]  # for the tokenizer inputs
    expressions = [s['data_samples'].metainfo['expression'] for s in samples]
    spans = [s['data_samples'].metainfo.get('key_phrase_spans') for s in samples]
    masked = sum(bool(s) for s in spans)
    print(f'{args.config}: {dataset_type} {args.split} split of {data_root}, {num} samples '
          f'({masked} with a key phrase), {args.passes} passes; 1 torch / OpenCV thread')
    print('pipeline:', ' -> '.join(type(t).__name__ for t in dataset.pipeline.transforms))

    # a fresh dataset, so its first pass pays the one-off costs again
    dataset = build_dataset(cfg, args.split, data_root, args.flip)
    results = {'dataset[i] (whole pipeline)': [], 'tokenize (1 sample)': []}
    for _ in range(1 + args.passes):
        results['dataset[i] (whole pipeline)'].append(timed_pass(lambda i: dataset[i], num))
        results['tokenize (1 sample)'].append(timed_pass(
            lambda i: preprocessor.tokenize([expressions[i]], [spans[i]], args.device), num))
    if args.breakdown:
        transforms = dataset.pipeline.transforms
        for _ in range(1 + args.passes):
            totals = [dict(wall=0.0, cpu=0.0) for _ in transforms]
            for i in range(num):
                data = dataset.get_data_info(i)
                for k, transform in enumerate(transforms):
                    wall, cpu = time.perf_counter(), time.process_time()
                    data = transform(data)
                    totals[k]['wall'] += (time.perf_counter() - wall) * 1e3 / num
                    totals[k]['cpu'] += (time.process_time() - cpu) * 1e3 / num
            for k, transform in enumerate(transforms):
                results.setdefault(f'  {k}. {type(transform).__name__}', []).append(totals[k])

    print('per sample, median over the passes after the first:')
    for name, passes in results.items():
        report(name, passes)
    pipeline = statistics.median(p['cpu'] for p in results['dataset[i] (whole pipeline)'][1:])
    tokenize = statistics.median(p['cpu'] for p in results['tokenize (1 sample)'][1:])
    print(f'total: {pipeline + tokenize:.2f} ms CPU per sample (pipeline + tokenization; '
          'budget 15 ms)')


if __name__ == '__main__':
    main()
