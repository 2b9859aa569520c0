"""Converts a checkpoint of the reference RMSIN code (github Lsan2401/RMSIN) to mmrrsis.

Both layouts of that code are read: ``lavt_one`` (its default: BERT inside the model as
``text_encoder.*``) and ``lavt`` (``{'model': ..., 'bert_model': ...}``, BERT saved apart from
its DDP wrapper with ``module.`` keys). The file is loaded with safe loading on: only the
``argparse.Namespace`` under ``args`` is allow-listed (see ``load_reference_checkpoint``).

The CIM grid (the stage-4 size the cross-scale attention was trained for: 15 x 15 for 480 px
inputs) and its number of blocks are read from the weights, printed, checked against the
shapes the code can build (anything else is refused), and written into the converted
checkpoint's ``meta`` (``neck`` and the full config text ``cfg``). The converted keys are then
checked against the model that ``--config`` builds with that neck (offline, no weights
downloaded): a reference key with no place in it, or a model key the checkpoint does not fill,
is an error that lists them. The last stage's gates and scale branch of the reference reach no
output; those keys are dropped and reported.

Example::

    python tools/model_converters/rmsin2mmrrsis.py model_best_rmsin.pth rmsin_mmrrsis.pth \\
        --config projects/rmsin/configs/rmsin_swinb_rrsisd.py
    python tools/test.py projects/rmsin/configs/rmsin_swinb_rrsisd.py rmsin_mmrrsis.pth
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, ROOT)

from mmrrsis.utils.ckpt_convert import (check_against_model, convert_rmsin,  # noqa: E402
                                        load_reference_checkpoint, model_state_shapes,
                                        split_reference_checkpoint)

DEFAULT_CONFIG = osp.join(ROOT, 'projects', 'rmsin', 'configs', 'rmsin_swinb_rrsisd.py')


def config_with_neck(config: str, neck: dict) -> Config:
    """The config ``config`` with the CIM neck arguments read from the weights."""
    cfg = Config.fromfile(config)
    if cfg.model.get('neck') is None or cfg.model.neck.get('type') != 'CIM':
        raise ValueError(f'{config} has no CIM neck: an RMSIN checkpoint needs one')
    cfg.model.neck.update(grid=tuple(neck['grid']), num_blocks=neck['num_blocks'])
    return cfg


def convert(src: str, config: str = DEFAULT_CONFIG):
    """Returns (mmrrsis state dict, dropped reference keys, CIM neck arguments, config)."""
    model, bert = split_reference_checkpoint(load_reference_checkpoint(src), src)
    state, dropped, neck = convert_rmsin(model, bert)
    cfg = config_with_neck(config, neck)
    check_against_model(state, model_state_shapes(cfg.model))
    return state, dropped, neck, cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference RMSIN code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: projects/rmsin/configs/rmsin_swinb_rrsisd.py)')
    args = parser.parse_args()
    state, dropped, neck, cfg = convert(args.src, args.config)
    grid = neck['grid']
    print(f'CIM grid {grid[0]}x{grid[1]} (stage-4 size; {32 * grid[0]}x{32 * grid[1]} inputs), '
          f'{neck["num_blocks"]} block(s)')
    configured = Config.fromfile(args.config).model.neck
    old = (tuple(configured.get('grid', (15, 15))), configured.get('num_blocks', 1))
    if old != (tuple(grid), neck['num_blocks']):
        print(f'{args.config} sets grid={old[0]}, num_blocks={old[1]}: test with --cfg-options '
              f'model.neck.grid="{tuple(grid)}" model.neck.num_blocks={neck["num_blocks"]} '
              f'(and inputs of that size)')
    print(f'dropped {len(dropped)} reference keys that reach no output: {dropped}')
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                neck=dict(grid=list(grid), num_blocks=neck['num_blocks']),
                cfg=cfg.pretty_text)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
