"""Parameters and FLOPs of a referring model, per component, text side included.

mmseg's ``tools/analysis/get_flops.py`` for models that read an expression: the config's model is
built offline (random weights, a WordPiece vocabulary made from the expression, no downloads)
and traced by mmengine's complexity analysis (``mmengine.analysis.FlopAnalyzer``, fvcore's
counter) on one image and one expression, in eval mode. As in mmseg and mmengine, one
multiply-add counts as one FLOP, and operators without a FLOP rule (element-wise ops,
softmax, activations) count zero; those are listed at the end. PyTorch's fused
``scaled_dot_product_attention`` gets a rule (the two matrix products of an attention). The
counting is :func:`mmrrsis.analysis.analyse`; this script prints it.

The components, by module path::

    vision   the Swin (``backbone.vision`` of a stage-wise extractor, else ``backbone``)
    text     the text encoder (``backbone.text`` or ``text_encoder``): every pass it runs
    fusion   the per-stage fusion modules (``backbone.fusions``)
    neck     ``neck``
    heads    ``decode_head`` and ``auxiliary_head`` (D-MOLS runs in training only and is not
             counted; its parameters are)

Example::

    python tools/analysis/get_flops.py configs/lavt/lavt_swinb_rrsisd.py --shape 480 480

``--dtype bfloat16`` builds and traces the model in bfloat16: the same counts in less memory,
for billion-parameter models such as RSRefSeg 2 (6.0 GiB peak at 1,024²; float32 passed 8 GiB).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmrrsis.analysis import COMPONENTS, EXPRESSION, analyse  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a referring model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input H W (or one side); default: the data preprocessor\'s size')
    parser.add_argument('--expression', default=EXPRESSION)
    parser.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'],
                        help='dtype of the weights and image traced: the counts are the same, '
                        'bfloat16 needs less memory (RSRefSeg 2 at 1,024²: 6.0 GiB peak, '
                        'float32 over 8)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as in tools/train.py')
    return parser.parse_args(argv)


def format_count(value: float, unit: float) -> str:
    return f'{value / unit:.2f}'


def main(argv=None) -> None:
    args = parse_args(argv)
    register_all_modules()
    # the per-parameter report of init_weights is noise here
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = None
    if args.shape:
        shape = tuple(args.shape) * (2 if len(args.shape) == 1 else 1)
        if len(shape) != 2:
            raise ValueError(f'--shape takes H W or one side, got {args.shape}')
    result = analyse(cfg, shape, args.expression, getattr(torch, args.dtype))
    height, width = result['shape']
    print(f'config: {args.config}')
    print(f'input: {height}x{width}, expression: "{args.expression}" (batch 1, eval mode, '
          f'{args.dtype})')
    print(f'{"component":<10}{"params (M)":>12}{"GFLOPs":>10}')
    for key in (*COMPONENTS, 'total'):
        print(f'{key:<10}{format_count(result["params"][key], 1e6):>12}'
              f'{format_count(result["flops"][key], 1e9):>10}')
    if result['unsupported']:
        ops = ', '.join(f'{op} x{n}' for op, n in sorted(result['unsupported'].items()))
        print(f'counted as 0 FLOPs (no rule): {ops}')
    print('FLOPs count multiply-adds (mmengine / fvcore convention, as mmseg\'s get_flops).')


if __name__ == '__main__':
    main()
