"""Key conversion of checkpoints saved by the LAVT-lineage reference code into mmrrsis layout.

The reference repositories of LAVT, RMSIN and FIANet share one layout: ``backbone.*`` (the
original Swin code with a fusion module ``layers.{i}.fusion`` and gate ``layers.{i}.res_gate``
per stage), ``classifier.*`` (the decoder) and BERT either under ``text_encoder.*`` in the same
state dict (``lavt_one``) or in a separate state dict (``lavt``). This module turns such a
checkpoint into the state dict of a :class:`ReferringEncoderDecoder` whose backbone is a
:class:`StageWiseExtractor`. The Swin keys go through mmseg's own converter
(``swin2mmseg.convert_swin``: key names and the patch-merging channel order).
"""
import argparse
import copy
import importlib.util
import os.path as osp
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]


class CheckpointConversionError(ValueError):
    """A reference checkpoint holds keys the converter does not know, or lacks needed ones."""


def _load_mmseg_swin_converter() -> Callable[[StateDict], StateDict]:
    """mmseg's ``convert_swin`` from its bundled ``tools/model_converters/swin2mmseg.py``."""
    import mmseg
    root = osp.dirname(mmseg.__file__)
    candidates = [osp.join(root, '.mim', 'tools', 'model_converters', 'swin2mmseg.py'),
                  osp.join(osp.dirname(root), 'tools', 'model_converters', 'swin2mmseg.py')]
    for path in candidates:
        if osp.isfile(path):
            spec = importlib.util.spec_from_file_location('_mmseg_swin2mmseg', path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.convert_swin
    raise FileNotFoundError('mmseg\'s Swin key converter swin2mmseg.py was not found in '
                            f'{candidates}; reinstall mmsegmentation from PyPI')


def load_reference_checkpoint(path: str) -> dict:
    """Loads a checkpoint written by the reference training scripts, safely.

    Those scripts save ``{'model', 'bert_model'?, 'optimizer', 'epoch', 'args',
    'lr_scheduler'}`` where ``args`` is an ``argparse.Namespace``. torch >= 2.6 loads with
    ``weights_only=True``, which refuses that class; it is allow-listed here for this one
    load only (a Namespace holds plain values and runs no code), and safe loading stays on
    for every other global.

    Args:
        path (str): Checkpoint file.

    Returns:
        dict: The loaded checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'reference checkpoint {path} does not exist')
    with torch.serialization.safe_globals([argparse.Namespace]):
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except Exception as error:  # the unpickler names the refused global
            raise CheckpointConversionError(
                f'{path} could not be loaded with safe loading ({error}). If you trust the '
                'file, re-save its tensors first: torch.save({"model": torch.load(path, '
                'weights_only=False)["model"]}, "clean.pth")') from error


def split_reference_checkpoint(ckpt: dict, source: str) -> Tuple[StateDict, Optional[StateDict]]:
    """Returns the model state dict and the separate BERT state dict (``lavt`` layout) if any."""
    if not isinstance(ckpt, dict):
        raise CheckpointConversionError(f'{source} holds a {type(ckpt).__name__}, not a dict')
    if 'model' in ckpt:
        return ckpt['model'], ckpt.get('bert_model')
    if 'state_dict' in ckpt:
        return ckpt['state_dict'], ckpt.get('bert_model')
    if any(k.startswith(('backbone.', 'classifier.')) for k in ckpt):
        return ckpt, None
    raise CheckpointConversionError(
        f'{source} has neither a "model" entry nor backbone./classifier. keys; its top-level '
        f'keys are {sorted(ckpt)[:20]}')


def pwam_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
    """(reference suffix, mmrrsis suffix, squeeze 1x1 conv) of one PWAM (fusion body)."""
    return [
        (f'{ref}vis_project.0.', f'{ours}vis_proj.0.', True),
        (f'{ref}image_lang_att.f_query.0.', f'{ours}attn.query.', True),
        (f'{ref}image_lang_att.f_key.0.', f'{ours}attn.key.', True),
        (f'{ref}image_lang_att.f_value.0.', f'{ours}attn.value.', True),
        (f'{ref}image_lang_att.W.0.', f'{ours}attn.out.', True),
        (f'{ref}project_mm.0.', f'{ours}mm_proj.0.', True),
    ]


def simple_decoding_rules(num_steps: int = 3) -> List[Tuple[str, str, bool]]:
    """Reference ``SimpleDecoding`` (``classifier.*``) to :class:`LAVTHead` (``decode_head.*``)."""
    rules = []
    for step, level in enumerate(range(num_steps + 1, 1, -1)):  # conv*_4 first
        for conv in (1, 2):
            ours = f'decode_head.fuse_steps.{step}.'
            index = 3 * (conv - 1)  # conv, norm, activation per 3x3 convolution
            rules.append((f'classifier.conv{conv}_{level}.', f'{ours}{index}.', False))
            rules.append((f'classifier.bn{conv}_{level}.', f'{ours}{index + 1}.', False))
    rules.append(('classifier.conv1_1.', 'decode_head.conv_seg.', False))
    return rules


def apply_rules(state: StateDict, rules: Iterable[Tuple[str, str, bool]],
                out: StateDict) -> List[str]:
    """Moves every key that starts with a rule's prefix; returns the keys no rule matched."""
    rules = list(rules)
    left = []
    for key, value in state.items():
        for ref, ours, squeeze in rules:
            if key.startswith(ref):
                if squeeze and value.dim() == 3 and value.shape[-1] == 1:
                    value = value.squeeze(-1)
                out[ours + key[len(ref):]] = value
                break
        else:
            left.append(key)
    return left


def convert_lavt_lineage(model: StateDict,
                         bert: Optional[StateDict] = None,
                         fusion_rules: Callable[[int], List[Tuple[str, str, bool]]] = None,
                         dead_prefixes: Iterable[str] = (),
                         num_stages: int = 4) -> Tuple[StateDict, List[str]]:
    """Converts a LAVT-lineage reference state dict.

    Args:
        model (dict): The reference model's state dict (``backbone.*``, ``classifier.*``,
            optionally ``text_encoder.*``).
        bert (dict, optional): The separate BERT state dict of the ``lavt`` layout
            (``embeddings.*``, ``encoder.*``). Defaults to None.
        fusion_rules (callable): Stage index -> rules for that stage's fusion keys (reference
            prefixes start with ``backbone.layers.{i}.``). Defaults to LAVT's PWAM + gate.
        dead_prefixes (Iterable[str]): Reference key prefixes of parameters that never reach
            an output (e.g. the last stage's gate); dropped and reported.
        num_stages (int): Swin stages. Defaults to 4.

    Returns:
        tuple: the mmrrsis state dict and the list of dropped reference keys.

    Raises:
        CheckpointConversionError: listing every reference key no rule knows.
    """
    if fusion_rules is None:
        fusion_rules = lavt_fusion_rules
    dropped = []
    state = OrderedDict()
    for key, value in model.items():
        if key.startswith(tuple(dead_prefixes)):
            dropped.append(key)
        else:
            state[key] = value
    texts = {k[len('text_encoder.'):]: v for k, v in state.items()
             if k.startswith('text_encoder.')}
    if texts and bert is not None:
        raise CheckpointConversionError('the checkpoint has BERT both inside the model '
                                        '(text_encoder.*) and as bert_model; which one to use?')
    texts = texts or dict(bert or {})
    if not texts:
        raise CheckpointConversionError('the checkpoint has no BERT weights: neither '
                                        'text_encoder.* keys nor a bert_model entry')
    state = OrderedDict((k, v) for k, v in state.items() if not k.startswith('text_encoder.'))

    out = OrderedDict()
    rules = [rule for i in range(num_stages) for rule in fusion_rules(i)]
    rules += simple_decoding_rules()
    left = apply_rules(state, rules, out)

    swin = OrderedDict()
    unknown = []
    swin_key = re.compile(r'backbone\.(patch_embed\.|layers\.\d+\.(blocks|downsample)\.|norm\d+\.)')
    for key in left:
        if swin_key.match(key):
            swin[key[len('backbone.'):]] = state[key]
        else:
            unknown.append(key)
    for key, value in _load_mmseg_swin_converter()(swin).items():
        out['backbone.vision.' + key] = value

    for key, value in texts.items():
        # the pooler is removed in the reference; position_ids is a constant buffer
        if key.startswith('pooler.') or key == 'embeddings.position_ids':
            dropped.append(('text_encoder.' if 'text_encoder.' + key in model else '') + key)
        elif key.startswith(('embeddings.', 'encoder.')):
            out['backbone.text.bert.' + key] = value
        else:
            unknown.append(f'(BERT) {key}')
    if unknown:
        raise CheckpointConversionError(
            f'{len(unknown)} reference keys have no place in the mmrrsis model: '
            f'{unknown[:30]}' + (' ...' if len(unknown) > 30 else ''))
    return out, dropped


def lavt_fusion_rules(stage: int) -> List[Tuple[str, str, bool]]:
    """LAVT's ``layers.{i}.fusion`` (PWAM) and ``layers.{i}.res_gate`` for stage ``stage``."""
    ref, ours = f'backbone.layers.{stage}.', f'backbone.fusions.{stage}.'
    return pwam_rules(ref + 'fusion.', ours) + [(ref + 'res_gate.', ours + 'gate.', False)]


def check_against_model(state: StateDict, expected: Dict[str, torch.Size]) -> None:
    """Raises unless ``state`` has exactly the keys (and shapes) of ``expected``.

    Args:
        state (dict): Converted state dict.
        expected (dict): Key -> shape of the target model's state dict.
    """
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected)
                   if tuple(state[k].shape) != tuple(expected[k]))
    problems = []
    if missing:
        problems.append(f'{len(missing)} keys of the mmrrsis model are not in the checkpoint: '
                        f'{missing[:30]}')
    if unexpected:
        problems.append(f'{len(unexpected)} converted keys are not in the mmrrsis model: '
                        f'{unexpected[:30]}')
    if wrong:
        problems.append('shape mismatches: ' + ', '.join(
            f'{k} {tuple(state[k].shape)} vs {tuple(expected[k])}' for k in wrong[:20]))
    if problems:
        raise CheckpointConversionError('; '.join(problems))


def model_state_shapes(model_cfg: dict) -> Dict[str, torch.Size]:
    """Key -> shape of the state dict of the model ``model_cfg`` builds, offline (random
    weights, nothing downloaded, no tokenizer): what :func:`check_against_model` expects.

    Args:
        model_cfg (dict): A segmentor config (``cfg.model``).

    Returns:
        dict: State-dict key -> tensor shape.
    """
    from mmrrsis.registry import MODELS
    from mmrrsis.utils.offline import offline_model_cfg
    from mmrrsis.utils.set_env import register_all_modules
    register_all_modules()
    model_cfg = offline_model_cfg(copy.deepcopy(model_cfg))
    model_cfg.pop('data_preprocessor', None)  # no tokenizer needed to list parameters
    model = MODELS.build(model_cfg)
    return {k: v.shape for k, v in model.state_dict().items()}


# RMSIN (github Lsan2401/RMSIN): LAVT's layout plus a scale branch and gate per stage, the
# cross-scale interaction inside the backbone (backbone.cim.*) and rotated convolutions in the
# decoder.
RMSIN_LAST_STAGE_DEAD = ('res_gate.', 'visual_gate.', 'visual_residual.')


def rmsin_scale_branch_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
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


def rmsin_fusion_rules(stage: int) -> List[Tuple[str, str, bool]]:
    """RMSIN's ``layers.{i}.{fusion, res_gate, visual_gate, visual_residual}`` to :class:`IIM`."""
    ref, ours = f'backbone.layers.{stage}.', f'backbone.fusions.{stage}.'
    return (pwam_rules(ref + 'fusion.', ours + 'pwam.') +
            [(ref + 'res_gate.', ours + 'pwam.gate.', False),
             (ref + 'visual_gate.', ours + 'scale_gate.', False)] +
            rmsin_scale_branch_rules(ref + 'visual_residual.repblock.', ours + 'scale_branch.'))


def rmsin_ffn_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
    """The reference CIM ``FeedForward`` to :class:`ConvFeedForward`."""
    names = (('bn1', 'in_bn'), ('conv1', 'expand'), ('bn2', 'mid_bn'), ('conv2', 'dwconv'),
             ('conv3', 'project'))
    return [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]


def rmsin_csa_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
    """The reference ``CrossScaleAttention`` to :class:`CrossScaleAttention`."""
    names = (('bn1', 'in_bn'), ('DWConv1', 'down2'), ('DWConv2', 'down3'),
             ('attention.qkv.c', 'qkv'), ('attention.qkv.bn', 'qkv_bn'),
             ('attention.parallel_conv.1', 'value_conv'), ('attention.to_out', 'value_proj'),
             ('attention.proj', 'token_proj'), ('bn4', 'out_bn'), ('conv', 'out_conv'))
    return [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]


def rmsin_cim_rules(num_blocks: int = 1, num_scales: int = 4) -> List[Tuple[str, str, bool]]:
    """The reference ``backbone.cim.*`` to the :class:`CIM` neck (``neck.*``); the ``.m.`` of
    the reference's residual wrappers is dropped."""
    ref, ours = 'backbone.cim.', 'neck.'
    rules = [(ref + 'down_channel.', ours + 'in_proj.', False),
             (ref + 'up_channel.', ours + 'out_proj.', False),
             (ref + 'bn.', ours + 'out_bn.', False)]
    gate = (('local_embedding', 'local_proj.0'), ('bn1', 'local_proj.1'),
            ('global_embedding', 'global_proj.0'), ('bn2', 'global_proj.1'),
            ('global_act', 'global_gate.0'), ('bn3', 'global_gate.1'))
    for i in range(num_scales):
        rules += [(f'{ref}fusion.{i}.{a}.', f'{ours}gates.{i}.{b}.', False) for a, b in gate]
    for k in range(num_blocks):
        block, new = f'{ref}block.{k}.', f'{ours}blocks.{k}.'
        for csa in ('csa1', 'csa2'):
            rules += rmsin_csa_rules(f'{block}{csa}.m.', f'{new}{csa}.')
        for j in range(num_scales):
            rules += rmsin_ffn_rules(f'{block}intra_ff.m.ff{j + 1}.m.', f'{new}iff.ffns.{j}.')
        rules += rmsin_ffn_rules(f'{block}ff.m.', f'{new}ffn.')
    return rules


def rmsin_routing_rules(num_steps: int = 3) -> List[Tuple[str, str, bool]]:
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


def rmsin_cim_config(model: StateDict) -> dict:
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


def convert_rmsin(model: StateDict,
                  bert: Optional[StateDict] = None) -> Tuple[StateDict, List[str], dict]:
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
        (see :func:`rmsin_cim_config`).

    Raises:
        CheckpointConversionError: listing every reference key no rule knows, or the dead
            last-stage modules that are missing.
    """
    neck = rmsin_cim_config(model)
    if bert and all(k.startswith('module.') for k in bert):
        bert = OrderedDict((k[len('module.'):], v) for k, v in bert.items())
    stages = sorted({int(k.split('.')[2]) for k in model if k.startswith('backbone.layers.')})
    if not stages:
        raise CheckpointConversionError('no backbone.layers.* keys: not an RMSIN checkpoint')
    last = f'backbone.layers.{stages[-1]}.'
    dead = tuple(last + name for name in RMSIN_LAST_STAGE_DEAD)
    absent = [p for p in dead if not any(k.startswith(p) for k in model)]
    if absent:
        raise CheckpointConversionError(
            f'the last stage lacks {absent}: not the layout of the RMSIN code, whose every '
            'stage builds a res_gate, a visual_gate and a visual_residual branch')

    out = OrderedDict()
    own = tuple(['backbone.cim.'] + [f'classifier.conv2_{level}.rounting_func.'
                                     for level in (4, 3, 2)])
    left = apply_rules({k: v for k, v in model.items() if k.startswith(own)},
                       rmsin_cim_rules(neck['num_blocks']) + rmsin_routing_rules(), out)
    rest = OrderedDict((k, v) for k, v in model.items() if not k.startswith(own))
    try:
        state, dropped = convert_lavt_lineage(rest, bert, fusion_rules=rmsin_fusion_rules,
                                              dead_prefixes=dead, num_stages=len(stages))
    except CheckpointConversionError as error:
        if not left:
            raise
        raise CheckpointConversionError(f'{error}; and {len(left)} CIM/routing keys: '
                                        f'{left[:30]}') from error
    if left:
        raise CheckpointConversionError(
            f'{len(left)} reference keys have no place in the mmrrsis model: {left[:30]}' +
            (' ...' if len(left) > 30 else ''))
    state.update(out)
    return state, dropped, neck


def pixel_word_attention_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
    """The reference ``SpatialImageLanguageAttention`` (1x1 Conv1d projections) to
    :class:`PixelWordAttention` (linears)."""
    names = (('f_query.0', 'query'), ('f_key.0', 'key'), ('f_value.0', 'value'), ('W.0', 'out'))
    return [(f'{ref}{a}.', f'{ours}{b}.', True) for a, b in names]


def scale_aware_gate_rules(ref: str, ours: str) -> List[Tuple[str, str, bool]]:
    """The reference ``ScaleAwareGate`` (RMSIN's CIM, FIANet's TMEM) to
    :class:`ScaleAwareGate`."""
    names = (('local_embedding', 'local_proj.0'), ('bn1', 'local_proj.1'),
             ('global_embedding', 'global_proj.0'), ('bn2', 'global_proj.1'),
             ('global_act', 'global_gate.0'), ('bn3', 'global_gate.1'))
    return [(f'{ref}{a}.', f'{ours}{b}.', False) for a, b in names]
