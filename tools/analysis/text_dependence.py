"""Shows that a referring model reads the expression.

Trains the same config twice on a synthetic RefSegRS-format split where the target can only be
found through its expression: once with the true expressions, once with the expressions
shuffled across samples (train, val and test files alike). A model that uses the text scores
high in the first run and near the "pick one of the same-category objects" level in the second.

Example, the run behind the figures in the README (tiny BTDNet, 4,000 synthetic images of
128 px seen at 128 px, 4,000 iterations of batch 8; 87 min per training with the two side by
side, one thread each, on 2 CPU cores)::

    python tools/analysis/text_dependence.py configs/btdnet/btdnet_tiny_synthetic.py \
        --num-images 4000 --size 128 --input-size 128 --iters 4000

Measured here: test mIoU 83.26 with the true expressions, 16.58 with shuffled ones.
"""
import argparse
import json
import os
import os.path as osp
import random
import shutil
import sys
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

from mmrrsis.analysis import configure, train_and_test  # noqa: E402
from mmrrsis.datasets.synthetic import make_refsegrs  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Text-dependence check of a referring model')
    parser.add_argument('config', help='a config for synthetic RefSegRS-format data')
    parser.add_argument('--work-dir', default='work_dirs/text_dependence')
    parser.add_argument('--num-images', type=int, default=600)
    parser.add_argument('--size', type=int, default=128, help='rendered image size')
    parser.add_argument('--iters', type=int, default=1500)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--input-size', type=int, default=None,
                        help='network input side (default: the config\'s crop size); '
                        'overrides every Resize, the preprocessor size and Swin\'s '
                        'pretrain_img_size')
    parser.add_argument('--only', choices=['true', 'shuffled'], default=None,
                        help='run one of the two trainings (e.g. to check the first before '
                        'paying for the second); the data are the same for a given seed')
    parser.add_argument('--out', default=None, help='also write the results to this JSON file')
    return parser.parse_args(argv)


def shuffle_expressions(src: str, dst: str, seed: int) -> None:
    """Copies a RefSegRS-format dataset with the expressions permuted within each split."""
    if osp.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    rng = random.Random(seed)
    for split in ('train', 'val', 'test'):
        path = osp.join(dst, f'output_phrase_{split}.txt')
        with open(path) as f:
            lines = [line.rstrip('\n').split(' ', 1) for line in f if line.strip()]
        expressions = [expr for _, expr in lines]
        rng.shuffle(expressions)
        with open(path, 'w') as f:
            f.writelines(f'{img_id} {expr}\n' for (img_id, _), expr in zip(lines, expressions))


def run(config: str, data_root: str, work_dir: str, iters: int, seed: int,
        input_size: Optional[int] = None) -> dict:
    cfg = configure(Config.fromfile(config), data_root, work_dir, iters, seed, input_size)
    return train_and_test(cfg)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    data = osp.join(args.work_dir, 'data')
    shuffled = osp.join(args.work_dir, 'data_shuffled')
    os.makedirs(args.work_dir, exist_ok=True)
    make_refsegrs(data, args.num_images, seed=args.seed, size=args.size)
    shuffle_expressions(data, shuffled, args.seed)
    results = {}
    for name, root in (('true expressions', data), ('shuffled expressions', shuffled)):
        if args.only and not name.startswith(args.only):
            continue
        results[name] = run(args.config, root, osp.join(args.work_dir, name.split()[0]),
                            args.iters, args.seed, args.input_size)
    print(f'\n{args.config}: {args.iters} iterations, {args.num_images} images of '
          f'{args.size} px, input {args.input_size or "as configured"}')
    for name, res in results.items():
        print(f'  {name:22s} test mIoU {res["mIoU"]:6.2f}  oIoU {res["oIoU"]:6.2f}  '
              f'Pr@0.5 {res["Pr@0.5"]:6.2f}  Pr@0.9 {res["Pr@0.9"]:6.2f}  '
              f'train time {res["train_seconds"]:7.1f} s')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, iters=args.iters, num_images=args.num_images,
                           size=args.size, input_size=args.input_size, results=results),
                      f, indent=1)
    return results


if __name__ == '__main__':
    main()
