"""Converts a checkpoint of the reference FIANet code (github Shaosifan/FIANet) to mmrrsis.

The code's default ``lavt_one`` layout (BERT inside the model as ``text_encoder.*``) and the
``lavt`` layout (``{'model': ..., 'bert_model': ...}``) are read, with safe loading on: only the
``argparse.Namespace`` under ``args`` is allow-listed (see ``load_reference_checkpoint``).

Key map: each stage's ``context_pixel_attn`` + ``context_tanh_gate`` -> ``FIAM.context`` (a
PWAM with its gate), ``object_position_align_blk.{go_cross_attn, go_tanh_gating}`` ->
``object_attn`` / ``object_gate``, ``sp_cross_attn`` / ``conv1`` -> ``position_attn`` /
``position_conv``, ``fc1`` / ``fc2`` -> ``channel_mod``; ``backbone.tmem.*`` -> the TMEM neck
(``neck.*``); Swin, decoder and BERT as for LAVT (``mmrrsis.utils.ckpt_convert``). Keys that
reach no output are dropped and reported: the last stage's channel modulation, context gate
and object-position block (its next-stage input feeds nothing) and every stage's unused
``go_embedding``. Any other reference key with no place in the model, or a model key the
checkpoint does not fill, is an error that lists them.

The number of TMEM blocks is read from the weights and set in ``--config``'s neck (printed
when it differs from the config); the converted keys are checked against the model that
config builds (offline, no weights downloaded).

Example::

    python tools/model_converters/fianet2mmrrsis.py fianet_rrsisd.pth fianet_mmrrsis.pth \\
        --config projects/fianet/configs/fianet_swinb_rrsisd.py
    python tools/test.py projects/fianet/configs/fianet_swinb_rrsisd.py fianet_mmrrsis.pth
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, ROOT)

from mmrrsis.utils.ckpt_convert import (CheckpointConversionError,  # noqa: E402
                                        check_against_model, convert_with_own_rules,
                                        cross_scale_mixer_rules, last_stage_dead_prefixes,
                                        load_reference_checkpoint, model_state_shapes,
                                        pixel_word_attention_rules, pwam_rules,
                                        split_reference_checkpoint)

DEFAULT_CONFIG = osp.join(ROOT, 'projects', 'fianet', 'configs', 'fianet_swinb_rrsisd.py')
Rules = List[Tuple[str, str, bool]]
OPAB = 'object_position_align_blk.'
# the last stage's residual update: computed by the code, read by nothing
LAST_STAGE_DEAD = ('fc1.', 'fc2.', 'context_tanh_gate.', OPAB)
UNUSED = OPAB + 'go_embedding.'
TMEM_BLOCK = re.compile(r'backbone\.tmem\.block\.(\d+)\.')
TMEM_SCALE = re.compile(r'backbone\.tmem\.fusion\.(\d+)\.')


def fiam_rules(stage: int) -> Rules:
    """The reference stage ``backbone.layers.{stage}`` fusion keys to :class:`FIAM`."""
    ref, ours = f'backbone.layers.{stage}.', f'backbone.fusions.{stage}.'
    return (pwam_rules(ref + 'context_pixel_attn.', ours + 'context.') + [
        (ref + 'context_tanh_gate.', ours + 'context.gate.', False),
        (ref + 'fc1.', ours + 'channel_mod.0.', False),
        (ref + 'fc2.', ours + 'channel_mod.2.', False),
        (ref + OPAB + 'go_tanh_gating.', ours + 'object_gate.', False),
        (ref + OPAB + 'conv1.', ours + 'position_conv.', False),
    ] + pixel_word_attention_rules(ref + OPAB + 'go_cross_attn.', ours + 'object_attn.') +
            pixel_word_attention_rules(ref + OPAB + 'sp_cross_attn.', ours + 'position_attn.'))


def tmem_rules(num_blocks: int, num_scales: int = 4) -> Rules:
    """The reference ``backbone.tmem.*`` to the :class:`TMEM` neck (``neck.*``)."""

    def block_rules(block: str, new: str) -> Rules:
        return [(block + 'norm1.', new + 'norm1.', False),
                (block + 'norm2.', new + 'norm2.', False),
                (block + 'ff.net.0.', new + 'ffn.0.', False),
                (block + 'ff.net.3.', new + 'ffn.2.', False)
                ] + pixel_word_attention_rules(block + 'tma.', new + 'attn.')

    return cross_scale_mixer_rules('backbone.tmem.', 'neck.', num_blocks, num_scales,
                                   block_rules)


def _numbered(model: Dict, pattern: re.Pattern, what: str) -> int:
    found = sorted({int(m.group(1)) for m in map(pattern.match, model) if m})
    if found != list(range(len(found))):
        raise CheckpointConversionError(f'{what} {found} are not numbered 0..n-1')
    return len(found)


def convert_fianet(model: Dict, bert: Dict = None) -> Tuple[Dict, List[str], int]:
    """Converts a reference FIANet state dict.

    Args:
        model (dict): The reference model's state dict.
        bert (dict, optional): The separate BERT state dict (``lavt`` layout). Defaults to
            None.

    Returns:
        tuple: the mmrrsis state dict, the dropped reference keys and the number of TMEM
        blocks.

    Raises:
        CheckpointConversionError: listing every reference key no rule knows, or naming the
            dead last-stage modules that are missing (not the code's layout).
    """
    num_blocks = _numbered(model, TMEM_BLOCK, 'TMEM blocks')
    num_scales = _numbered(model, TMEM_SCALE, 'TMEM scale gates')
    if not num_blocks:
        raise CheckpointConversionError(
            'no backbone.tmem.block.* keys: not a FIANet checkpoint (a LAVT one converts with '
            'lavt2mmrrsis.py, an RMSIN one with rmsin2mmrrsis.py)')
    stages, dead = last_stage_dead_prefixes(
        model, LAST_STAGE_DEAD, 'a FIANet',
        'the channel modulation, context gate and object-position block')
    dead += tuple(f'backbone.layers.{i}.{UNUSED}' for i in stages)
    state, dropped = convert_with_own_rules(
        model, bert, ('backbone.tmem.', ), tmem_rules(num_blocks, num_scales), 'TMEM',
        fusion_rules=fiam_rules, dead_prefixes=dead, num_stages=len(stages))
    return state, dropped, num_blocks


def config_with_tmem(config: str, num_blocks: int) -> Config:
    """The config ``config`` with ``num_blocks`` TMEM blocks."""
    cfg = Config.fromfile(config)
    if cfg.model.get('neck') is None or cfg.model.neck.get('type') != 'TMEM':
        raise ValueError(f'{config} has no TMEM neck: a FIANet checkpoint needs one')
    cfg.model.neck.num_blocks = num_blocks
    return cfg


def convert(src: str, config: str = DEFAULT_CONFIG):
    """Returns (mmrrsis state dict, dropped reference keys, TMEM blocks, config) for ``src``."""
    model, bert = split_reference_checkpoint(load_reference_checkpoint(src), src)
    state, dropped, num_blocks = convert_fianet(model, bert)
    cfg = config_with_tmem(config, num_blocks)
    check_against_model(state, model_state_shapes(cfg.model))
    return state, dropped, num_blocks, cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference FIANet code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: projects/fianet/configs/fianet_swinb_rrsisd.py)')
    args = parser.parse_args()
    state, dropped, num_blocks, cfg = convert(args.src, args.config)
    configured = Config.fromfile(args.config).model.neck.num_blocks
    print(f'{num_blocks} TMEM block(s)')
    if configured != num_blocks:
        print(f'{args.config} sets {configured} TMEM block(s): test with --cfg-options '
              f'model.neck.num_blocks={num_blocks}')
    print(f'dropped {len(dropped)} reference keys that reach no output: {dropped}')
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                neck=dict(num_blocks=num_blocks), cfg=cfg.pretty_text)
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
