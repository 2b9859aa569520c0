"""Converts a checkpoint of the reference LAVT code (github yz93/LAVT-RIS) to mmrrsis.

Both layouts of that code are read: ``lavt`` (``{'model': ..., 'bert_model': ...}``, BERT saved
apart) and ``lavt_one`` (BERT inside the model as ``text_encoder.*``). The converted keys are
checked against the model that ``--config`` builds (offline, no weights downloaded): a
reference key with no place in it, or a model key the checkpoint does not fill, is an error that
lists them. The last stage's language gate of the reference feeds no later stage; those keys
are dropped and reported.

Example::

    python tools/model_converters/lavt2mmrrsis.py model_best_refcoco.pth lavt_mmrrsis.pth \\
        --config configs/lavt/lavt_swinb_refsegrs.py
    python tools/test.py configs/lavt/lavt_swinb_refsegrs.py lavt_mmrrsis.pth
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmrrsis.utils.ckpt_convert import (check_against_model, convert_lavt_lineage,  # noqa: E402
                                        load_reference_checkpoint, model_state_shapes,
                                        split_reference_checkpoint)

DEFAULT_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs',
                          'lavt', 'lavt_swinb_refsegrs.py')


def last_stage_gate(state: dict) -> str:
    """Prefix of the reference's last-stage gate (dead weights)."""
    stages = {int(k.split('.')[2]) for k in state if k.startswith('backbone.layers.')}
    return f'backbone.layers.{max(stages)}.res_gate.'


def convert(src: str, config: str = DEFAULT_CONFIG):
    """Returns (mmrrsis state dict, dropped reference keys) for the checkpoint ``src``."""
    model, bert = split_reference_checkpoint(load_reference_checkpoint(src), src)
    state, dropped = convert_lavt_lineage(model, bert, dead_prefixes=(last_stage_gate(model), ))
    check_against_model(state, model_state_shapes(Config.fromfile(config).model))
    return state, dropped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference LAVT code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: configs/lavt/lavt_swinb_refsegrs.py)')
    args = parser.parse_args()
    state, dropped = convert(args.src, args.config)
    if dropped:
        print(f'dropped {len(dropped)} reference keys that reach no output: {dropped}')
    torch.save(dict(state_dict=state, meta=dict(converted_from=osp.basename(args.src),
                                                config=osp.basename(args.config))), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
