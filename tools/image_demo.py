"""Segments what an expression refers to in one image and draws it.

`python tools/image_demo.py IMAGE "EXPRESSION" CONFIG [CHECKPOINT] --out-file overlay.png
[--mask-file mask.png] [--device cpu] [--opacity 0.5]`

Writes the mask (PNG, 0 background / 255 target, at the image's size; by default
`<out-file stem>_mask.png` beside the overlay) and the overlay with the expression as caption.
A model with an existence head also prints p(the expression's object is in the image); below
the head's threshold the mask is empty.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import mmrrsis  # noqa: E402,F401  (applies the compatibility layer first)
import mmcv  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmrrsis.apis import (existence_score, inference_model, init_model, pred_mask,  # noqa: E402
                          show_result)


def parse_args():
    parser = argparse.ArgumentParser(description='Referring segmentation of one image')
    parser.add_argument('image', help='image file')
    parser.add_argument('expression', help='referring expression, e.g. "the red car on the left"')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file (random weights if omitted)')
    parser.add_argument('--out-file', required=True, help='overlay picture to write (.png/.jpg)')
    parser.add_argument('--mask-file', help='mask PNG to write (default: <out-file stem>_mask.png)')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu',
                        help='device, e.g. cpu or cuda:0 (default: cuda:0 when available)')
    parser.add_argument('--opacity', type=float, default=0.5, help='opacity of the mask colour')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.data_preprocessor.tokenizer=...')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image {args.image} does not exist')
    mask_file = args.mask_file or f'{osp.splitext(args.out_file)[0]}_mask.png'
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=args.cfg_options)
    result = inference_model(model, args.image, args.expression)
    mask = pred_mask(result)
    mmcv.imwrite(mask * 255, mask_file)
    show_result(model, args.image, result, out_file=args.out_file, opacity=args.opacity)
    share = 100.0 * mask.mean()
    print(f'"{args.expression}": {share:.1f}% of the image is target; mask written to '
          f'{mask_file}, overlay to {args.out_file}')
    score = existence_score(result)
    if score is not None:
        verdict = 'present' if score >= model.existence_head.threshold else 'absent, mask emptied'
        print(f'existence score {score:.3f} (threshold {model.existence_head.threshold:g}): '
              f'target {verdict}')


if __name__ == '__main__':
    main()
