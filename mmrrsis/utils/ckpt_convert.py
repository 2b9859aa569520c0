"""Key conversion of checkpoints saved by the LAVT-lineage reference code into mmrrsis layout.

The reference repositories of LAVT, RMSIN and FIANet share one layout: ``backbone.*`` (the
original Swin code with a fusion module ``layers.{i}.fusion`` and gate ``layers.{i}.res_gate``
per stage), ``classifier.*`` (the decoder) and BERT either under ``text_encoder.*`` in the same
state dict (``lavt_one``) or in a separate state dict (``lavt``). This module turns such a
checkpoint into the state dict of a :class:`ReferringEncoderDecoder` whose backbone is a
:class:`StageWiseExtractor`. The Swin keys go through mmseg's own converter
(``swin2mmseg.convert_swin``: key names and the patch-merging channel order). It holds
LAVT's rules and the pieces the methods share; each project's own rules live with its
converter (``tools/model_converters/rmsin2mmrrsis.py``, ``fianet2mmrrsis.py``).
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


def strip_ddp_prefix(state: Optional[StateDict], what: str) -> Tuple[Optional[StateDict], bool]:
    """``state`` without the ``module.`` that DistributedDataParallel puts before every key.

    Args:
        state (dict, optional): A state dict, or None.
        what (str): Its name in the checkpoint, for the message.

    Returns:
        tuple: the state dict and whether the prefix was removed.

    Raises:
        CheckpointConversionError: when only some keys carry the prefix.
    """
    prefixed = [k for k in state or () if k.startswith('module.')]
    if not prefixed:
        return state, False
    if len(prefixed) != len(state):
        plain = [k for k in state if not k.startswith('module.')]
        raise CheckpointConversionError(
            f'{len(prefixed)} of the {len(state)} keys of {what} carry the DDP prefix "module." '
            f'and {len(plain)} do not (e.g. {prefixed[0]}, {plain[0]}): not one saved model')
    return OrderedDict((k[len('module.'):], v) for k, v in state.items()), True


def parse_fusion_heads(text: str, num_stages: int, what: str,
                       broadcast: bool = False) -> List[int]:
    """Heads per stage from the reference's ``--mha`` syntax: ``''`` (one each) or ``'a-b-c-d'``.

    Args:
        text (str): The value.
        num_stages (int): Stages of the model.
        what (str): Where the value comes from, for the message.
        broadcast (bool): Accept one number for every stage. Defaults to False.

    Returns:
        list[int]: One head count per stage.

    Raises:
        CheckpointConversionError: for anything else.
    """
    text = str(text).strip()
    if not text:
        return [1] * num_stages
    try:
        heads = [int(part) for part in text.split('-')]
    except ValueError:
        heads = []
    if broadcast and len(heads) == 1:
        heads = heads * num_stages
    if len(heads) != num_stages or min(heads) < 1:
        raise CheckpointConversionError(
            f'{what} is {text!r}: expected {num_stages} positive head counts joined by "-" '
            f'(e.g. {"-".join(["4"] * num_stages)})' + (' or one count' if broadcast else ''))
    return heads


def reference_fusion_heads(ckpt: dict, num_stages: int, given: Optional[str],
                           source: str) -> Tuple[List[int], str]:
    """The pixel-word attention heads per stage a LAVT-lineage checkpoint was trained with.

    The reference code builds them from its ``--mha`` option, kept in the checkpoint's
    ``args``. The weights cannot tell: every head count has the same parameter shapes, so a
    wrong count loads strictly and silently changes the outputs. Without ``args.mha`` the
    count must therefore be ``given``; with both, they must agree.

    Args:
        ckpt (dict): The loaded checkpoint.
        num_stages (int): Stages of the model.
        given (str, optional): The user's count (``'4'`` or ``'4-4-4-4'``), or None.
        source (str): The checkpoint's name, for the messages.

    Returns:
        tuple: the heads per stage and where they were read.

    Raises:
        CheckpointConversionError: when the count is unknown, malformed or contradicted.
    """
    args = ckpt.get('args') if isinstance(ckpt, dict) else None
    args = vars(args) if isinstance(args, argparse.Namespace) else args
    recorded = args.get('mha') if isinstance(args, dict) else None
    user = None if given is None else parse_fusion_heads(given, num_stages, '--num-heads', True)
    if recorded is None:
        if user is None:
            raise CheckpointConversionError(
                f'{source} does not record its fusion heads (no args.mha: its args were not '
                'saved or were removed), and the weights have the same shapes for every head '
                'count; pass --num-heads: 1 if it was trained without --mha (the reference\'s '
                'default), else its --mha value, e.g. 4-4-4-4')
        return user, '--num-heads'
    heads = parse_fusion_heads(recorded, num_stages, f'args.mha of {source}')
    if user is not None and user != heads:
        raise CheckpointConversionError(
            f'--num-heads {given} contradicts args.mha={recorded!r} of {source} '
            f'({"-".join(map(str, heads))}); leave --num-heads out')
    return heads, f'args.mha={recorded!r}'


def fusion_heads_options(cfg, heads: List[int], config: str) -> Dict[str, int]:
    """The flat ``--cfg-options`` that give the per-stage fusions of ``cfg`` ``heads`` heads.

    Args:
        cfg (Config): The config read from ``config``. Its ``model.backbone.fusion`` must be a
            list of one fusion config per stage (LAVT's, RMSIN's and FIANet's are).
        heads (list[int]): Heads per stage (see :func:`reference_fusion_heads`).
        config (str): The config's file, for the message.

    Returns:
        dict: ``model.backbone.fusion.{i}.num_heads`` for each stage whose heads differ from
        what ``cfg`` builds (empty when none do).

    Raises:
        CheckpointConversionError: when ``cfg`` has no such list.
    """
    fusion = cfg.model.backbone.get('fusion')
    if not isinstance(fusion, (list, tuple)) or len(fusion) != len(heads) or \
            not all(isinstance(f, dict) for f in fusion):
        raise CheckpointConversionError(
            f'{config} does not build one fusion per stage as a list of {len(heads)} configs '
            f'(model.backbone.fusion is {fusion!r}), so the checkpoint\'s heads have no place')
    built = [f.get('num_heads', 1) for f in fusion]
    return {f'model.backbone.fusion.{i}.num_heads': h
            for i, (h, b) in enumerate(zip(heads, built)) if h != b}


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


def cross_scale_mixer_rules(ref: str, ours: str, num_blocks: int, num_scales: int,
                            block_rules: Callable[[str, str], List[Tuple[str, str, bool]]]
                            ) -> List[Tuple[str, str, bool]]:
    """A reference cross-scale neck (RMSIN's CIM, FIANet's TMEM: ``down_channel``,
    ``block.{k}``, ``bn``, ``up_channel``, ``fusion.{i}``) to :class:`CrossScaleMixer` keys.

    Args:
        ref (str): The reference neck's prefix, e.g. ``'backbone.cim.'``.
        ours (str): The mmrrsis neck's prefix, e.g. ``'neck.'``.
        num_blocks (int): Mixing blocks.
        num_scales (int): Scales, one ``ScaleAwareGate`` each.
        block_rules (callable): (reference block prefix, mmrrsis block prefix) -> the rules of
            one block.

    Returns:
        list[tuple[str, str, bool]]: The rules.
    """
    rules = [(ref + 'down_channel.', ours + 'in_proj.', False),
             (ref + 'up_channel.', ours + 'out_proj.', False),
             (ref + 'bn.', ours + 'out_bn.', False)]
    for i in range(num_scales):
        rules += scale_aware_gate_rules(f'{ref}fusion.{i}.', f'{ours}gates.{i}.')
    for k in range(num_blocks):
        rules += block_rules(f'{ref}block.{k}.', f'{ours}blocks.{k}.')
    return rules


def last_stage_dead_prefixes(model: StateDict, names: Iterable[str], method: str,
                             builds: str) -> Tuple[List[int], Tuple[str, ...]]:
    """The Swin stages of a reference state dict and the prefixes of its last stage's modules
    that feed only the discarded next-stage input.

    Args:
        model (dict): The reference model's state dict.
        names (Iterable[str]): Key prefixes, within a stage, of those modules.
        method (str): The method's name, for the messages.
        builds (str): What the reference builds at every stage, for the message.

    Returns:
        tuple: the stage indices and the last stage's dead prefixes.

    Raises:
        CheckpointConversionError: without stages, or when a dead module is missing (not
            the reference code's layout).
    """
    stages = sorted({int(k.split('.')[2]) for k in model if k.startswith('backbone.layers.')})
    if not stages:
        raise CheckpointConversionError(f'no backbone.layers.* keys: not {method} checkpoint')
    last = f'backbone.layers.{stages[-1]}.'
    dead = tuple(last + name for name in names)
    absent = [p for p in dead if not any(k.startswith(p) for k in model)]
    if absent:
        raise CheckpointConversionError(
            f'the last stage lacks {absent}: not the layout of the {method.split()[-1]} code, '
            f'whose every stage builds {builds}')
    return stages, dead


def convert_with_own_rules(model: StateDict, bert: Optional[StateDict], own: Tuple[str, ...],
                           own_rules: List[Tuple[str, str, bool]], what: str,
                           **lineage_kwargs) -> Tuple[StateDict, List[str]]:
    """:func:`convert_lavt_lineage` plus a method's rules for the keys under its own prefixes
    (a neck, a head's extra modules).

    Args:
        model (dict): The reference model's state dict.
        bert (dict, optional): The separate BERT state dict (``lavt`` layout).
        own (tuple[str]): The reference prefixes that ``own_rules`` convert.
        own_rules (list): Their rules.
        what (str): What those keys are, for the messages.
        **lineage_kwargs: ``fusion_rules``, ``dead_prefixes``, ``num_stages``.

    Returns:
        tuple: the mmrrsis state dict and the dropped reference keys.

    Raises:
        CheckpointConversionError: listing every reference key no rule knows.
    """
    converted = OrderedDict()
    left = apply_rules({k: v for k, v in model.items() if k.startswith(own)}, own_rules,
                       converted)
    rest = OrderedDict((k, v) for k, v in model.items() if not k.startswith(own))
    try:
        state, dropped = convert_lavt_lineage(rest, bert, **lineage_kwargs)
    except CheckpointConversionError as error:
        if not left:
            raise
        raise CheckpointConversionError(f'{error}; and {len(left)} {what} keys: {left[:30]}') \
            from error
    if left:
        raise CheckpointConversionError(
            f'{len(left)} reference keys have no place in the mmrrsis model: {left[:30]}' +
            (' ...' if len(left) > 30 else ''))
    state.update(converted)
    return state, dropped
