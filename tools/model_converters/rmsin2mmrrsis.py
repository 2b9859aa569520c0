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

The heads of each stage's pixel-word attention (the reference's ``--mha``, by default one) are
read from the checkpoint's ``args.mha`` as for LAVT: every head count has the same parameter
shapes, so a checkpoint without it is refused unless ``--num-heads`` names the count. The
overrides of ``--config`` (CIM grid and blocks, heads) are kept in the converted ``meta`` as
``cfg_options`` and printed as the ``--cfg-options`` for ``tools/test.py``.

Key map: each stage's ``fusion`` + ``res_gate`` -> ``IIM.pwam`` (a PWAM with its gate),
``visual_gate`` -> ``scale_gate``, ``visual_residual.repblock`` -> ``scale_branch``;
``backbone.cim.*`` -> the CIM neck (``neck.*``); the decoder's ``rounting_func`` -> the routing
of ``ARCHead``'s rotated convolutions; Swin, decoder and BERT as for LAVT
(``mmrrsis.utils.ckpt_convert``).

Example::

    python tools/model_converters/rmsin2mmrrsis.py model_best_rmsin.pth rmsin_mmrrsis.pth \\
        --config projects/rmsin/configs/rmsin_swinb_rrsisd.py
    python tools/test.py projects/rmsin/configs/rmsin_swinb_rrsisd.py rmsin_mmrrsis.pth
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, ROOT)

from mmrrsis.utils.ckpt_convert import (CheckpointConversionError,  # noqa: E402
                                        check_against_model, convert_with_own_rules,
                                        cross_scale_mixer_rules, fusion_heads_options,
                                        last_stage_dead_prefixes, load_reference_checkpoint,
                                        model_state_shapes, pwam_rules,
                                        reference_fusion_heads, split_reference_checkpoint)

DEFAULT_CONFIG = osp.join(ROOT, 'projects', 'rmsin', 'configs', 'rmsin_swinb_rrsisd.py')
Rules = List[Tuple[str, str, bool]]
# the last stage's residual update: computed by the code, read by nothing
LAST_STAGE_DEAD = ('res_gate.', 'visual_gate.', 'visual_residual.')


def scale_branch_rules(ref: str, ours: str) -> Rules:
    """The reference ``VariousReceptive`` (``RepBlock(1, 1)``) to :class:`ScaleBranch`."""
    rules = []
    for step, suffix in enumerate(('', '_2')):
        new = f'{ours}steps.{step}.'
        rules += [
            (f'{ref}brb_3x3{suffix}.conv1.', f'{new}kxk.0.', False),
            (f'{ref}brb_3x3{suffix}.bn1.', f'{new}kxk.1.', False),
            (f'{ref}brb_3x3{suffix}.conv2.', f'{new}kxk.2.', False),
            (f'{ref}brb_3x3{suffix}.bn2.', f'{new}kxk.3.', False),
            (f'{ref}brb_1x1{suffix}.conv.', f'{new}pointwise.0.', False),
            (f'{ref}brb_1x1{suffix}.bn.', f'{new}pointwise.1.', False),
            (f'{ref}brb_identity{suffix}.', f'{new}identity.', False),
        ]
    return rules


def iim_rules(stage: int) -> Rules:
    """RMSIN's ``layers.{i}.{fusion, res_gate, visual_gate, visual_residual}`` to :class:`IIM`."""
    ref, ours = f'backbone.layers.{stage}.', f'backbone.fusions.{stage}.'
    return (pwam_rules(ref + 'fusion.', ours + 'pwam.') +
            [(ref + 'res_gate.', ours + 'pwam.gate.', False),
             (ref + 'visual_gate.', ours + 'scale_gate.', False)] +
            scale_branch_rules(ref + 'visual_residual.repblock.', ours + 'scale_branch.'))


def ffn_rules(ref: str, ours: str) -> Rules:
    """The reference CIM ``FeedForward`` to :class:`ConvFeedForward`."""
    names = (('bn1', 'in_bn'), ('conv1', 'expand'), ('bn2', 'mid_bn'), ('conv2', 'dwconv'),
             ('conv3', 'project'))
    return [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]


def csa_rules(ref: str, ours: str) -> Rules:
    """The reference ``CrossScaleAttention`` to :class:`CrossScaleAttention`."""
    names = (('bn1', 'in_bn'), ('DWConv1', 'down2'), ('DWConv2', 'down3'),
             ('attention.qkv.c', 'qkv'), ('attention.qkv.bn', 'qkv_bn'),
             ('attention.parallel_conv.1', 'value_conv'), ('attention.to_out', 'value_proj'),
             ('attention.proj', 'token_proj'), ('bn4', 'out_bn'), ('conv', 'out_conv'))
    return [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]


def cim_rules(num_blocks: int = 1, num_scales: int = 4) -> Rules:
    """The reference ``backbone.cim.*`` to the :class:`CIM` neck (``neck.*``); the ``.m.`` of
    the reference's residual wrappers is dropped."""

    def block_rules(block: str, new: str) -> Rules:
        rules = []
        for csa in ('csa1', 'csa2'):
            rules += csa_rules(f'{block}{csa}.m.', f'{new}{csa}.')
        for j in range(num_scales):
            rules += ffn_rules(f'{block}intra_ff.m.ff{j + 1}.m.', f'{new}iff.ffns.{j}.')
        return rules + ffn_rules(f'{block}ff.m.', f'{new}ffn.')

    return cross_scale_mixer_rules('backbone.cim.', 'neck.', num_blocks, num_scales,
                                   block_rules)


def routing_rules(num_steps: int = 3) -> Rules:
    """The reference decoder's ``conv2_*.rounting_func`` to each :class:`AdaptiveRotatedConv2d`
    routing of :class:`ARCHead` (the kernel banks follow :func:`simple_decoding_rules`)."""
    names = (('dwc', 'dwconv'), ('norm.norm', 'ln'), ('fc_alpha', 'fc_alpha'),
             ('fc_theta', 'fc_theta'))
    rules = []
    for step, level in enumerate(range(num_steps + 1, 1, -1)):
        ref, ours = f'classifier.conv2_{level}.rounting_func.', \
            f'decode_head.fuse_steps.{step}.3.routing.'
        rules += [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]
    return rules


def cim_config(model: Dict) -> dict:
    """The CIM neck arguments a reference RMSIN state dict was trained with.

    The grid g x g follows from the cross-scale attention's token projection, a Linear from
    g² + (⌊(g-1)/2⌋+1)² + (⌊(g-1)/3⌋+1)² tokens to g² (225 x 314 for 15 x 15, i.e. 480 px
    inputs; RemoteSAM's 896 px fork has 784 x 1080 for 28 x 28).

    Returns:
        dict: ``grid`` (g, g) and ``num_blocks``.

    Raises:
        CheckpointConversionError: without CIM keys, or for a projection of another shape.
    """
    key = re.compile(r'backbone\.cim\.block\.(\d+)\.csa[12]\.m\.attention\.proj\.weight$')
    shapes = {k: tuple(v.shape) for k, v in model.items() if key.match(k)}
    if not shapes:
        raise CheckpointConversionError(
            'no backbone.cim.block.*.csa*.m.attention.proj.weight in the checkpoint: it is '
            'not an RMSIN checkpoint (a LAVT one converts with lavt2mmrrsis.py)')
    if len(set(shapes.values())) > 1:
        raise CheckpointConversionError(f'the CIM token projections disagree in shape: {shapes}')
    pixels, tokens = next(iter(shapes.values()))
    side = int(round(pixels**0.5))
    coarse = ((side - 1) // 2 + 1)**2 + ((side - 1) // 3 + 1)**2
    if side * side != pixels or tokens != pixels + coarse:
        raise CheckpointConversionError(
            f'unknown CIM token projection shape {(pixels, tokens)} in {sorted(shapes)}: a '
            f'g x g grid gives (g², g² + (⌊(g-1)/2⌋+1)² + (⌊(g-1)/3⌋+1)²), e.g. (225, 314) '
            f'for 15 x 15')
    blocks = sorted({int(key.match(k).group(1)) for k in shapes})
    if blocks != list(range(len(blocks))):
        raise CheckpointConversionError(f'CIM blocks {blocks} are not numbered 0..n-1')
    return dict(grid=(side, side), num_blocks=len(blocks))


def convert_rmsin(model: Dict,
                  bert: Optional[Dict] = None) -> Tuple[Dict, List[str], dict]:
    """Converts a reference RMSIN state dict (``lavt_one`` or ``lavt`` layout).

    The last stage's ``res_gate``, ``visual_gate`` and ``visual_residual`` feed only the
    discarded next-stage input; they must be present and are dropped. In the ``lavt``
    layout BERT is saved from its DDP wrapper: the ``module.`` prefix is removed.

    Args:
        model (dict): The reference model's state dict.
        bert (dict, optional): The separate BERT state dict (``lavt`` layout). Defaults to
            None.

    Returns:
        tuple: the mmrrsis state dict, the dropped reference keys, and the CIM neck arguments
        (see :func:`cim_config`).

    Raises:
        CheckpointConversionError: listing every reference key no rule knows, or the dead
            last-stage modules that are missing.
    """
    neck = cim_config(model)
    if bert and all(k.startswith('module.') for k in bert):
        bert = OrderedDict((k[len('module.'):], v) for k, v in bert.items())
    stages, dead = last_stage_dead_prefixes(
        model, LAST_STAGE_DEAD, 'an RMSIN',
        'a res_gate, a visual_gate and a visual_residual branch')
    own = tuple(['backbone.cim.'] + [f'classifier.conv2_{level}.rounting_func.'
                                     for level in (4, 3, 2)])
    state, dropped = convert_with_own_rules(
        model, bert, own, cim_rules(neck['num_blocks']) + routing_rules(), 'CIM/routing',
        fusion_rules=iim_rules, dead_prefixes=dead, num_stages=len(stages))
    return state, dropped, neck


def config_with(config: str, neck: dict, heads: List[int]) -> Tuple[Config, Dict]:
    """The config ``config`` with the CIM neck arguments read from the weights and the fusion
    heads ``heads``, and the flat ``--cfg-options`` that turn ``config`` into it."""
    cfg = Config.fromfile(config)
    if cfg.model.get('neck') is None or cfg.model.neck.get('type') != 'CIM':
        raise CheckpointConversionError(f'{config} has no CIM neck: an RMSIN checkpoint needs one')
    options = fusion_heads_options(cfg, heads, config)
    if tuple(cfg.model.neck.get('grid', (15, 15))) != tuple(neck['grid']):
        options['model.neck.grid'] = tuple(neck['grid'])
    if cfg.model.neck.get('num_blocks', 1) != neck['num_blocks']:
        options['model.neck.num_blocks'] = neck['num_blocks']
    cfg.merge_from_dict(options)
    return cfg, options


def convert(src: str, config: str = DEFAULT_CONFIG, num_heads: Optional[str] = None) -> dict:
    """Converts the reference RMSIN checkpoint ``src`` for the model of ``config``.

    Args:
        src (str): The reference checkpoint.
        config (str): The mmrrsis config. Defaults to
            ``projects/rmsin/configs/rmsin_swinb_rrsisd.py``.
        num_heads (str, optional): Fusion heads (``'4'`` or ``'4-4-4-4'``) for a checkpoint
            without ``args.mha``; must agree with ``args.mha`` when both exist. Defaults to
            None.

    Returns:
        dict: ``state`` (the mmrrsis state dict), ``dropped`` (reference keys that reach no
        output), ``neck`` (CIM arguments), ``heads`` (per stage), ``heads_from`` (where they
        were read), ``cfg_options`` (the overrides of ``config``) and ``cfg`` (the config with
        them).
    """
    ckpt = load_reference_checkpoint(src)
    model, bert = split_reference_checkpoint(ckpt, src)
    state, dropped, neck = convert_rmsin(model, bert)
    num_stages = len({k.split('.')[2] for k in model if k.startswith('backbone.layers.')})
    heads, heads_from = reference_fusion_heads(ckpt, num_stages, num_heads, src)
    cfg, options = config_with(config, neck, heads)
    check_against_model(state, model_state_shapes(cfg.model))
    return dict(state=state, dropped=dropped, neck=neck, heads=heads, heads_from=heads_from,
                cfg_options=options, cfg=cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference RMSIN code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: projects/rmsin/configs/rmsin_swinb_rrsisd.py)')
    parser.add_argument('--num-heads', default=None,
                        help='pixel-word attention heads per stage, in the reference\'s --mha '
                        'syntax (4-4-4-4) or one number for all, for a checkpoint that does not '
                        'record args.mha (1 if it was trained without --mha)')
    args = parser.parse_args()
    out = convert(args.src, args.config, args.num_heads)
    grid, options = out['neck']['grid'], out['cfg_options']
    print(f'CIM grid {grid[0]}x{grid[1]} (stage-4 size; {32 * grid[0]}x{32 * grid[1]} inputs), '
          f'{out["neck"]["num_blocks"]} block(s)')
    print(f'pixel-word attention heads per stage: {"-".join(map(str, out["heads"]))} '
          f'(from {out["heads_from"]})')
    if options:
        print(f'{args.config} builds another model: test with --cfg-options ' +
              ' '.join(f'{k}="{v}"' if isinstance(v, tuple) else f'{k}={v}'
                       for k, v in options.items()) +
              (' (and inputs of that size)' if 'model.neck.grid' in options else '') +
              ' (kept in the converted meta as cfg_options)')
    print(f'dropped {len(out["dropped"])} reference keys that reach no output: {out["dropped"]}')
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                neck=dict(grid=list(grid), num_blocks=out['neck']['num_blocks']),
                fusion_heads=out['heads'],
                cfg_options={k: list(v) if isinstance(v, tuple) else v
                             for k, v in options.items()},
                cfg=out['cfg'].pretty_text)
    torch.save(dict(state_dict=out['state'], meta=meta), args.dst)
    print(f'wrote {len(out["state"])} tensors to {args.dst}')

if __name__ == '__main__':
    main()
