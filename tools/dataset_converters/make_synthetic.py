"""Writes a synthetic dataset in the RefSegRS, RRSIS-D, RISBench, RRSIS-HR or NWPU-Refer
layout, or as JSONL.

    python tools/dataset_converters/make_synthetic.py {refsegrs,rrsisd} OUT_DIR \
        --num-images N --seed S [--size PX] [--splits 0.6,0.2,0.2] [--no-target-share 0.3]
        [--colour-pairs]
    python tools/dataset_converters/make_synthetic.py risbench OUT_DIR --num-images N \
        [--layout crobim|rsfm]
    python tools/dataset_converters/make_synthetic.py jsonl OUT_DIR --num-images N \
        [--source refsegrs|rrsisd|risbench]
    python tools/dataset_converters/make_synthetic.py rrsishr OUT_DIR --num-images N
    python tools/dataset_converters/make_synthetic.py nwpu_refer OUT_DIR --num-images N \
        [--nested-image-dir]

Besides the dataset files it writes OUT_DIR/bert_vocab/vocab.txt, a WordPiece vocabulary
that covers every generated expression, for offline tests and tiny configs. With
--no-target-share it also writes OUT_DIR/no_target.json, exact no-target expressions that
NoTargetDataset(negatives_file='no_target.json') adds to each split. `jsonl` writes the
--source dataset in its own layout plus RSRefSeg2's OUT_DIR/datainfo/<source>_<split>.jsonl.
`nwpu_refer` writes its own multi-target and no-target refs (see make_nwpu_refer).
"""
import argparse
import os.path as osp
import sys

try:
    from mmrrsis.datasets.synthetic import (make_jsonl, make_nwpu_refer, make_refsegrs,
                                            make_risbench, make_rrsisd, make_rrsishr)
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mmrrsis.datasets.synthetic import (make_jsonl, make_nwpu_refer, make_refsegrs,
                                            make_risbench, make_rrsisd, make_rrsishr)

GENERATORS = {'refsegrs': make_refsegrs, 'rrsisd': make_rrsisd, 'risbench': make_risbench,
              'jsonl': make_jsonl, 'rrsishr': make_rrsishr, 'nwpu_refer': make_nwpu_refer}


def parse_ratios(text: str) -> tuple:
    """Parses "0.6,0.2,0.2" into three floats (train, val, test)."""
    try:
        ratios = tuple(float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--splits expects three numbers like 0.6,0.2,0.2, got "{text}"')
    if len(ratios) != 3:
        raise argparse.ArgumentTypeError(
            f'--splits expects three numbers (train,val,test), got "{text}"')
    return ratios


def parse_args():
    parser = argparse.ArgumentParser(description='Make a synthetic referring segmentation dataset')
    parser.add_argument('format', choices=sorted(GENERATORS), help='dataset layout to write')
    parser.add_argument('out_dir', help='dataset root to write into')
    parser.add_argument('--num-images', type=int, required=True, help='number of images')
    parser.add_argument('--seed', type=int, default=0, help='random seed; same seed, same files')
    parser.add_argument('--size', type=int,
                        help='image side in pixels, at least 48 '
                        '(default: 512 refsegrs, 800 rrsisd, 64 risbench and jsonl, '
                        '1024 rrsishr and nwpu_refer)')
    parser.add_argument('--splits', type=parse_ratios, default=(0.6, 0.2, 0.2),
                        help='train,val,test shares of the images (default: 0.6,0.2,0.2)')
    parser.add_argument('--no-target-share', type=float, default=0.0,
                        help='share of each split\'s expressions that name something the image '
                        'does not show, written to no_target.json (default: 0)')
    parser.add_argument('--colour-pairs', action='store_true',
                        help='refsegrs only: every image written twice, once for each of two '
                        'same-category objects named by their colour')
    parser.add_argument('--layout', choices=('crobim', 'rsfm'), default='crobim',
                        help='risbench only: the CroBIM download or the RSFM/LSCF re-layout')
    parser.add_argument('--source', choices=('refsegrs', 'rrsisd', 'risbench'),
                        default='risbench', help='jsonl only: the dataset the lines describe')
    parser.add_argument('--nested-image-dir', action='store_true',
                        help='nwpu_refer only: images in image/image/ instead of image/')
    return parser.parse_args()


def main():
    args = parse_args()
    kwargs = dict(seed=args.seed, split_ratios=args.splits)
    if args.format in ('risbench', 'jsonl', 'rrsishr', 'nwpu_refer'):
        if args.no_target_share > 0:
            raise SystemExit(f'--no-target-share does not apply to {args.format}: its files '
                             'have no no-target expressions' if args.format != 'nwpu_refer' else
                             'nwpu_refer writes its own no-target refs; --no-target-share does '
                             'not apply')
        if args.format == 'risbench':
            kwargs['layout'] = args.layout
        elif args.format == 'jsonl':
            kwargs['dataset'] = args.source
    else:
        kwargs['no_target_share'] = args.no_target_share
    if args.nested_image_dir:
        if args.format != 'nwpu_refer':
            raise SystemExit('--nested-image-dir applies to nwpu_refer only')
        kwargs['nested_image_dir'] = True
    if args.colour_pairs:
        if args.format != 'refsegrs':
            raise SystemExit('--colour-pairs writes the RefSegRS layout only')
        kwargs['colour_pairs'] = True
    if args.size is not None:
        kwargs['size'] = args.size
    summary = GENERATORS[args.format](args.out_dir, args.num_images, **kwargs)
    samples = ', '.join(f'{split} {n}' for split, n in summary['samples'].items())
    attributes = ', '.join(f'{name} {n}' for name, n in summary['attributes'].items())
    print(f'{args.format}: {summary["num_images"]} images of {summary["size"]} px '
          f'in {args.out_dir}')
    print(f'  expressions: {samples}')
    print(f'  built on: {attributes}')
    if args.no_target_share > 0:
        no_target = ', '.join(f'{split} {n}' for split, n in summary['no_target_samples'].items())
        print(f'  no-target expressions (no_target.json): {no_target}')
    if 'multi_target_samples' in summary:
        for key, what in (('multi_target_samples', 'multi-target (union of several refs)'),
                          ('no_target_samples', 'no-target')):
            print(f'  {what}: ' + ', '.join(f'{s} {n}' for s, n in summary[key].items()))
    print(f'  categories: {len(summary["categories"])}; vocabulary: {summary["vocab_file"]}')
    if summary['odd_size_images']:
        print(f'  {len(summary["odd_size_images"])} images keep the real data\'s odd JPEG size '
              f'(RLE {summary["size"]}x{summary["size"]}): {", ".join(summary["odd_size_images"])}')
    if 'jsonl_files' in summary:
        print(f'  JSONL ({args.source}): {", ".join(summary["jsonl_files"].values())}')


if __name__ == '__main__':
    main()
