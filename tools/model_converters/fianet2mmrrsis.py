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

The number of TMEM blocks is read from the weights and set in ``--config``'s neck. The heads
of every FIAM attention (context, ground-object and spatial-position; the reference's
``--mha``, by default one; TMEM's attention always has one) are read from the checkpoint's
``args.mha`` as for LAVT: every head count has the same parameter shapes, so a checkpoint
without it is refused unless ``--num-heads`` names the count. The overrides of ``--config``
are kept in the converted ``meta`` as ``cfg_options`` and printed as the ``--cfg-options`` for
``tools/test.py``; the converted keys are checked against the model that config builds with
them (offline, no weights downloaded).

Example::

    python tools/model_converters/fianet2mmrrsis.py fianet_rrsisd.pth fianet_mmrrsis.pth \\
        --config projects/fianet/configs/fianet_swinb_rrsisd.py
    python tools/test.py projects/fianet/configs/fianet_swinb_rrsisd.py fianet_mmrrsis.pth
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, ROOT)

from mmrrsis.utils.ckpt_convert import (CheckpointConversionError,  # noqa: E402
                                        check_against_model, convert_with_own_rules,
                                        cross_scale_mixer_rules, fusion_heads_options,
                                        last_stage_dead_prefixes, load_reference_checkpoint,
                                        model_state_shapes, pixel_word_attention_rules,
                                        pwam_rules, reference_fusion_heads,
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



def config_with(config: str, num_blocks: int, heads: List[int]) -> Tuple[Config, Dict]:
    """The config ``config`` with ``num_blocks`` TMEM blocks and the FIAM heads ``heads``, and
    the flat ``--cfg-options`` that turn ``config`` into it."""
    cfg = Config.fromfile(config)
    if cfg.model.get('neck') is None or cfg.model.neck.get('type') != 'TMEM':
        raise CheckpointConversionError(
            f'{config} has no TMEM neck: a FIANet checkpoint needs one')
    options = fusion_heads_options(cfg, heads, config)
    if cfg.model.neck.get('num_blocks') != num_blocks:
        options['model.neck.num_blocks'] = num_blocks
    cfg.merge_from_dict(options)
    return cfg, options


def convert(src: str, config: str = DEFAULT_CONFIG, num_heads: Optional[str] = None) -> dict:
    """Converts the reference FIANet checkpoint ``src`` for the model of ``config``.

    Args:
        src (str): The reference checkpoint.
        config (str): The mmrrsis config. Defaults to
            ``projects/fianet/configs/fianet_swinb_rrsisd.py``.
        num_heads (str, optional): FIAM heads (``'4'`` or ``'4-4-4-4'``) for a checkpoint
            without ``args.mha``; must agree with ``args.mha`` when both exist. Defaults to
            None.

    Returns:
        dict: ``state`` (the mmrrsis state dict), ``dropped`` (reference keys that reach no
        output), ``num_blocks`` (TMEM blocks), ``heads`` (per stage), ``heads_from`` (where
        they were read), ``cfg_options`` (the overrides of ``config``) and ``cfg`` (the config
        with them).
    """
    ckpt = load_reference_checkpoint(src)
    model, bert = split_reference_checkpoint(ckpt, src)
    state, dropped, num_blocks = convert_fianet(model, bert)
    num_stages = len({k.split('.')[2] for k in model if k.startswith('backbone.layers.')})
    heads, heads_from = reference_fusion_heads(ckpt, num_stages, num_heads, src)
    cfg, options = config_with(config, num_blocks, heads)
    check_against_model(state, model_state_shapes(cfg.model))
    return dict(state=state, dropped=dropped, num_blocks=num_blocks, heads=heads,
                heads_from=heads_from, cfg_options=options, cfg=cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference FIANet code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: projects/fianet/configs/fianet_swinb_rrsisd.py)')
    parser.add_argument('--num-heads', default=None,
                        help='FIAM attention heads per stage, in the reference\'s --mha syntax '
                        '(4-4-4-4) or one number for all, for a checkpoint that does not record '
                        'args.mha (1 if it was trained without --mha)')
    args = parser.parse_args()
    out = convert(args.src, args.config, args.num_heads)
    options = out['cfg_options']
    print(f'{out["num_blocks"]} TMEM block(s)')
    print(f'FIAM attention heads per stage: {"-".join(map(str, out["heads"]))} '
          f'(from {out["heads_from"]})')
    if options:
        print(f'{args.config} builds another model: test with --cfg-options ' +
              ' '.join(f'{k}={v}' for k, v in options.items()) +
              ' (kept in the converted meta as cfg_options)')
    print(f'dropped {len(out["dropped"])} reference keys that reach no output: {out["dropped"]}')
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                neck=dict(num_blocks=out['num_blocks']), fusion_heads=out['heads'],
                cfg_options=options, cfg=out['cfg'].pretty_text)
    torch.save(dict(state_dict=out['state'], meta=meta), args.dst)
    print(f'wrote {len(out["state"])} tensors to {args.dst}')


if __name__ == '__main__':
    main()
