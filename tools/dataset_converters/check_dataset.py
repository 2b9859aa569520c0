"""Scans a dataset once and reports every problem; exits 1 on fatal ones.

    python tools/dataset_converters/check_dataset.py {refsegrs,rrsisd} DATA_ROOT \
        [--splits train val test] [--max-examples 20]

Reports samples per split, image formats, the mask value histogram, then fatal problems
(missing or undecodable files, empty expressions, broken refs...) and warnings (size
mismatches, converted images, masks with values other than 0/255...), each grouped by kind.
"""
import argparse
import os.path as osp
import sys

try:
    from mmrrsis.datasets.check import CHECKERS, SPLITS, check_dataset
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mmrrsis.datasets.check import CHECKERS, SPLITS, check_dataset


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
