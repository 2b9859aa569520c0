"""Converts a checkpoint of the reference LAVT code (github yz93/LAVT-RIS) to mmrrsis.

Both layouts of that code are read: ``lavt`` (``{'model': ..., 'bert_model': ...}``, BERT saved
apart) and ``lavt_one`` (BERT inside the model as ``text_encoder.*``). Keys saved from the DDP
wrapper (``module.`` before every key of ``model`` or ``bert_model``) lose that prefix, which
is reported; a file of neither layout is an error that says what it holds instead.

The pixel-word attention heads of each stage (the reference's ``--mha``, e.g. ``4-4-4-4``; by
default one) are read from the checkpoint's ``args.mha`` and printed. The weights cannot tell
them: every head count has the same parameter shapes, so a wrong count would load strictly and
give other logits. A checkpoint without ``args.mha`` is therefore refused unless ``--num-heads``
names the count (``1`` if it was trained without ``--mha``). When the heads differ from what
``--config`` builds, the converted checkpoint's ``meta`` holds the overrides (``cfg_options``,
and the full config text ``cfg``), and the ``--cfg-options`` that ``tools/test.py`` needs are
printed.

The converted keys are checked against the model that ``--config`` builds with those heads
(offline, no weights downloaded): a reference key with no place in it, or a model key the
checkpoint does not fill, is an error that lists them. The last stage's language gate of the
reference feeds no later stage; those keys are dropped and reported.

Example::

    python tools/model_converters/lavt2mmrrsis.py model_best_refcoco.pth lavt_mmrrsis.pth \\
        --config configs/lavt/lavt_swinb_refsegrs.py
    python tools/test.py configs/lavt/lavt_swinb_refsegrs.py lavt_mmrrsis.pth

and, for a checkpoint trained with ``--mha 4-4-4-4``, test with what the converter prints::

    python tools/test.py configs/lavt/lavt_swinb_refsegrs.py lavt_mmrrsis.pth --cfg-options \\
        model.backbone.fusion.0.num_heads=4 model.backbone.fusion.1.num_heads=4 \\
        model.backbone.fusion.2.num_heads=4 model.backbone.fusion.3.num_heads=4
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmrrsis.utils.ckpt_convert import (check_against_model,  # noqa: E402
                                        convert_lavt_lineage, fusion_heads_options,
                                        last_stage_dead_prefixes, load_reference_checkpoint,
                                        model_state_shapes, reference_fusion_heads,
                                        split_reference_checkpoint, strip_ddp_prefix)

DEFAULT_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs',
                          'lavt', 'lavt_swinb_refsegrs.py')


def config_with_heads(config: str, heads: List[int]) -> Tuple[Config, Dict[str, int]]:
    """The config ``config`` with ``heads`` in its fusions, and the ``--cfg-options`` (flat
    keys) that turn ``config`` into it (empty when it already builds those heads)."""
    cfg = Config.fromfile(config)
    options = fusion_heads_options(cfg, heads, config)
    cfg.merge_from_dict(options)
    return cfg, options


def convert(src: str, config: str = DEFAULT_CONFIG, num_heads: Optional[str] = None) -> dict:
    """Converts the reference LAVT checkpoint ``src`` for the model of ``config``.

    Args:
        src (str): The reference checkpoint.
        config (str): The mmrrsis config. Defaults to ``configs/lavt/lavt_swinb_refsegrs.py``.
        num_heads (str, optional): Fusion heads (``'4'`` or ``'4-4-4-4'``) for a checkpoint
            without ``args.mha``; must agree with ``args.mha`` when both exist. Defaults to
            None.

    Returns:
        dict: ``state`` (the mmrrsis state dict), ``dropped`` (reference keys that reach no
        output), ``stripped`` (entries that lost DDP's ``module.`` prefix), ``heads`` (per
        stage), ``heads_from`` (where they were read), ``cfg_options`` (the overrides of
        ``config``) and ``cfg`` (the config with them).
    """
    ckpt = load_reference_checkpoint(src)
    model, bert = split_reference_checkpoint(ckpt, src)
    model, model_stripped = strip_ddp_prefix(model, f'{src} (model)')
    bert, bert_stripped = strip_ddp_prefix(bert, f'{src} (bert_model)')
    stripped = [name for name, done in (('model', model_stripped), ('bert_model', bert_stripped))
                if done]
    stages, dead = last_stage_dead_prefixes(model, ('res_gate.', ), 'a LAVT',
                                            'a PWAM and a res_gate')
    heads, heads_from = reference_fusion_heads(ckpt, len(stages), num_heads, src)
    cfg, options = config_with_heads(config, heads)
    state, dropped = convert_lavt_lineage(model, bert, dead_prefixes=dead,
                                          num_stages=len(stages))
    check_against_model(state, model_state_shapes(cfg.model))
    return dict(state=state, dropped=dropped, stripped=stripped, heads=heads,
                heads_from=heads_from, cfg_options=options, cfg=cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint saved by the reference LAVT code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill '
                        '(default: configs/lavt/lavt_swinb_refsegrs.py)')
    parser.add_argument('--num-heads', default=None,
                        help='pixel-word attention heads per stage, in the reference\'s --mha '
                        'syntax (4-4-4-4) or one number for all, for a checkpoint that does not '
                        'record args.mha (1 if it was trained without --mha)')
    args = parser.parse_args()
    out = convert(args.src, args.config, args.num_heads)
    for name in out['stripped']:
        print(f'{name}: removed the DDP prefix "module." from every key')
    print(f'pixel-word attention heads per stage: {"-".join(map(str, out["heads"]))} '
          f'(from {out["heads_from"]})')
    options = out['cfg_options']
    if options:
        print(f'{args.config} builds other heads: test with --cfg-options ' +
              ' '.join(f'{k}={v}' for k, v in options.items()) +
              ' (kept in the converted meta as cfg_options)')
    print(f'dropped {len(out["dropped"])} reference keys that reach no output: {out["dropped"]}')
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                fusion_heads=out['heads'], cfg_options=options, cfg=out['cfg'].pretty_text)
    torch.save(dict(state_dict=out['state'], meta=meta), args.dst)
    print(f'wrote {len(out["state"])} tensors to {args.dst}')


if __name__ == '__main__':
    main()
