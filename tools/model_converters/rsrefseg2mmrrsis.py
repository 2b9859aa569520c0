"""Converts a checkpoint of the reference RSRefSeg 2 code (github KyanChen/RSRefSeg2) to mmrrsis.

The reference saves ``{'state_dict': ...}`` of its ``RefSegEncoderDecoder``: the SAM 2 model
(original SAM 2 names) under ``backbone.model.``, the SigLIP towers under
``clip_vision_encoder.`` / ``clip_text_encoder.``, peft-wrapped (``base_model.model.``,
``.base_layer.``, ``.lora_A.default.``, ``.lora_B.default.``), the prompter under ``prompter.``
(modules named by the op strings of its config) and the head's four scalars. Safe loading
(``weights_only=True``) throughout.

Key map (see the project README):

- SAM 2 -> transformers' ``Sam2Model`` names (``convert_sam2_to_hf``'s rules, image part): the
  image encoder to ``backbone.sam2.vision_encoder``, ``conv_s0``/``conv_s1`` and
  ``no_mem_embed`` to ``backbone.sam2``, the prompt encoder and mask decoder to
  ``decode_head.sam``; the Gaussian PE matrix also to ``shared_image_embedding``.
- SigLIP: ``...base_model.model.model.`` -> ``backbone.vision.model.`` / ``backbone.text.model.``,
  ``logit_scale``/``logit_bias`` -> ``backbone.text``.
- Prompter op strings -> the explicit layers of ``CascadedPrompter`` (``neck.``).
- ``decode_head.logit_scale2``/``logit_bias2`` -> ``decode_head.contrast_loss``.

Dropped and reported (they reach no output): SigLIP's vision pooling head and its LoRA, the
head's ``logit_scale1``/``logit_bias1``. Any other key without a place, or a model key left
unfilled, is an error listing them. A release holding only the trainable weights is completed
from ``--sam2`` (``facebook/sam2.1-hiera-large``'s ``sam2.1_hiera_large.pt``) and ``--siglip``
(``google/siglip2-so400m-patch16-512``'s ``model.safetensors`` or its folder). ``--merge-lora``
folds every adapter into its weight (W + alpha/r B A) for a model built without LoRA; the
``--cfg-options`` that build it are printed and kept in the meta.

Example::

    python tools/model_converters/rsrefseg2mmrrsis.py refsegrs.pth rsrefseg2_refsegrs.pth \\
        --config projects/rsrefseg2/configs/rsrefseg2_sam2l-siglip2_refsegrs.py
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, ROOT)

from mmrrsis.utils.ckpt_convert import (CheckpointConversionError,  # noqa: E402
                                        check_against_model, load_reference_checkpoint)

DEFAULT_CONFIG = osp.join(ROOT, 'projects', 'rsrefseg2', 'configs',
                          'rsrefseg2_sam2l-siglip2_refsegrs.py')
StateDict = Dict[str, torch.Tensor]
PEFT = 'base_model.model.'
SAM = 'backbone.model.'
LORA_TOWERS = ('backbone.sam2.vision_encoder.', 'backbone.vision.model.', 'backbone.text.model.')
# (pattern on the reference key, replacement) applied in order, the first match wins
ENC = 'vision_encoder.backbone.'
TRUNK = r'^image_encoder\.trunk\.'
SAM2_ENCODER_RULES = [
    (TRUNK + r'patch_embed\.proj\.', ENC + 'patch_embed.projection.'),
    (TRUNK + r'blocks\.(\d+)\.norm(\d)\.', ENC + r'blocks.\1.layer_norm\2.'),
    (TRUNK + r'blocks\.(\d+)\.mlp\.layers\.0\.', ENC + r'blocks.\1.mlp.proj_in.'),
    (TRUNK + r'blocks\.(\d+)\.mlp\.layers\.1\.', ENC + r'blocks.\1.mlp.proj_out.'),
    (TRUNK, ENC),
    (r'^image_encoder\.neck\.convs\.(\d+)\.conv\.', r'vision_encoder.neck.convs.\1.'),
    (r'^sam_mask_decoder\.conv_s([01])\.', r'conv_s\1.'),
    (r'^no_mem_embed$', 'no_memory_embedding'),
]
PROMPT, DECODER = r'^sam_prompt_encoder\.', r'^sam_mask_decoder\.'
PARAM = r'\.(weight|bias)$'
SAM2_DECODER_RULES = [
    (PROMPT + r'mask_downscaling\.0\.', 'prompt_encoder.mask_embed.conv1.'),
    (PROMPT + r'mask_downscaling\.1\.', 'prompt_encoder.mask_embed.layer_norm1.'),
    (PROMPT + r'mask_downscaling\.3\.', 'prompt_encoder.mask_embed.conv2.'),
    (PROMPT + r'mask_downscaling\.4\.', 'prompt_encoder.mask_embed.layer_norm2.'),
    (PROMPT + r'mask_downscaling\.6\.', 'prompt_encoder.mask_embed.conv3.'),
    (PROMPT + r'(no_mask_embed|not_a_point_embed)\.', r'prompt_encoder.\1.'),
    (DECODER + r'output_upscaling\.0\.', 'mask_decoder.upscale_conv1.'),
    (DECODER + r'output_upscaling\.1\.', 'mask_decoder.upscale_layer_norm.'),
    (DECODER + r'output_upscaling\.3\.', 'mask_decoder.upscale_conv2.'),
    # two-layer MLPs (the transformer's): layers.0|1 -> proj_in|proj_out; three-layer ones
    # (hypernetworks, IoU and object-score heads): layers.0|1|2 -> proj_in|layers.0|proj_out
    (DECODER + r'(.*)\.layers\.0' + PARAM, r'mask_decoder.\1.proj_in.\2'),
    (DECODER + r'(transformer\.layers\.\d+\.mlp)\.layers\.1' + PARAM,
     r'mask_decoder.\1.proj_out.\2'),
    (DECODER + r'(.*)\.layers\.1' + PARAM, r'mask_decoder.\1.layers.0.\2'),
    (DECODER + r'(.*)\.layers\.2' + PARAM, r'mask_decoder.\1.proj_out.\2'),
    (DECODER + r'(.*)\.out_proj\.', r'mask_decoder.\1.o_proj.'),
    (DECODER + r'(.*)\.norm(\d|_final_attn)\.', r'mask_decoder.\1.layer_norm\2.'),
    (DECODER, 'mask_decoder.'),
]
GAUSSIAN_PE = 'sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'
POINT_EMBEDDING = re.compile(r'^sam_prompt_encoder\.point_embeddings\.(\d+)\.weight$')
# prompter: the reference's op strings -> CascadedPrompter's layer names
PROMPTER_RULES = [
    (r'^two_queries_text_attn_layers\.', 'text_layers.'),
    (r'^queries1_to_img_attn_layers\.', 'image_layers.'),
    (r'^prompt_queries2_img_attn_layers\.', 'prompt_layers.'),
    (r'^text_query_pe_embedding([12])$', r'query_pe\1'),
    (r'^img_pe$', 'image_pe'),
    (r'^prompt_embedding$', 'prompt_embed'),
    (r'^prompt_pe_embedding$', 'prompt_pe'),
    (r'^sparse_prompt_mlp\.', 'sparse_mlp.'),
    (r'^dense_prompt_conv\.', 'dense_conv.'),
]
TEXT_LAYER_OPS = [
    (r'self_attn_query_query([12])', r'self_attn\1'),
    (r'cross_attn_query_text_query([12])_text', r'text_attn\1'),
    (r'cross_attn_query_query_query1_query2', 'cross_attn1'),
    (r'cross_attn_query_query_query2_query1', 'cross_attn2'),
    (r'norm_query([12])_(\d)', r'norm\1_\2'),
    (r'mlp_query([12])_(\d)', r'mlp\1_\2'),
]
IMAGE_LAYER_OPS = [
    (r'self_attn_text(?:_text)?_1', 'query_attn'),
    (r'norm_text_1', 'query_norm'),
    (r'cross_attn_img_text_1', 'image_attn'),
    (r'norm_img_([12])', r'image_norm\1'),
    (r'mlp_img_1', 'image_mlp'),
    (r'self_attn_prompt_1', 'prompt_attn'),
    (r'cross_attn_prompt_text_1', 'prompt_text_attn'),
    (r'cross_attn_prompt_img_1', 'prompt_image_attn'),
    (r'mlp_prompt_2', 'prompt_text_mlp'),
    (r'mlp_prompt_3', 'prompt_image_mlp'),
    (r'norm_prompt_(\d)', r'prompt_norm\1'),
]
DROPPED = (r'^clip_vision_encoder\.base_model\.model\.model\.head\.',
           r'^decode_head\.(logit_scale1|logit_bias1)$',
           r'\.position_ids$')


def _sub(rules, key: str) -> Optional[str]:
    for pattern, replacement in rules:
        new, count = re.subn(pattern, replacement, key, count=1)
        if count:
            return new
    return None


def _sam2_key(key: str) -> Optional[str]:
    """An original-SAM 2 key (no ``backbone.model.``) -> its mmrrsis key, or None."""
    new = _sub(SAM2_ENCODER_RULES, key)
    if new is not None:
        return 'backbone.sam2.' + new
    new = _sub(SAM2_DECODER_RULES, key)
    return None if new is None else 'decode_head.sam.' + new


def _prompter_key(key: str) -> Optional[str]:
    new = _sub(PROMPTER_RULES, key)
    if new is None:
        return None
    layer = re.match(r'^(text_layers|image_layers|prompt_layers)\.(\d+)\.([^.]+)(\..*)$', new)
    if layer is None:
        return new
    stage, index, op, rest = layer.groups()
    renamed = _sub([(f'^{p}$', r) for p, r in (
        TEXT_LAYER_OPS if stage == 'text_layers' else IMAGE_LAYER_OPS)], op)
    return None if renamed is None else f'{stage}.{index}.{renamed}{rest}'


def convert_state(model: StateDict) -> Tuple[StateDict, List[str]]:
    """Converts a reference RSRefSeg 2 state dict.

    Args:
        model (dict): The reference ``state_dict``.

    Returns:
        tuple: the mmrrsis state dict and the dropped reference keys.

    Raises:
        CheckpointConversionError: listing every reference key no rule knows.
    """
    out: StateDict = OrderedDict()
    dropped, unknown = [], []
    points = {}
    for key, value in model.items():
        if any(re.search(p, key) for p in DROPPED):
            dropped.append(key)
            continue
        new = None
        plain = key.replace(PEFT, '')
        if plain.startswith(SAM):
            rest = plain[len(SAM):]
            if rest == GAUSSIAN_PE:
                out['decode_head.sam.shared_image_embedding.positional_embedding'] = value
                new = 'decode_head.sam.prompt_encoder.shared_embedding.positional_embedding'
            elif POINT_EMBEDDING.match(rest):
                points[int(POINT_EMBEDDING.match(rest).group(1))] = value
                continue
            else:
                new = _sam2_key(rest)
        elif plain.startswith('clip_vision_encoder.model.'):
            new = 'backbone.vision.model.' + plain[len('clip_vision_encoder.model.'):]
        elif plain.startswith('clip_text_encoder.model.'):
            new = 'backbone.text.model.' + plain[len('clip_text_encoder.model.'):]
        elif plain in ('clip_text_encoder.logit_scale', 'clip_text_encoder.logit_bias'):
            new = 'backbone.text.' + plain.split('.')[-1]
        elif plain.startswith('prompter.'):
            sub = _prompter_key(plain[len('prompter.'):])
            new = None if sub is None else 'neck.' + sub
        elif plain in ('decode_head.logit_scale2', 'decode_head.logit_bias2'):
            new = 'decode_head.contrast_loss.' + plain.split('.')[-1][:-1]
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if points:
        if sorted(points) != list(range(len(points))):
            raise CheckpointConversionError(f'SAM 2 point embeddings {sorted(points)} are not '
                                            'numbered 0..n-1')
        out['decode_head.sam.prompt_encoder.point_embed.weight'] = torch.cat(
            [points[i] for i in range(len(points))], dim=0)
    if unknown:
        raise CheckpointConversionError(
            f'{len(unknown)} reference keys have no place in the mmrrsis model: {unknown[:30]}')
    return out, dropped


def lora_scale(cfg) -> Dict[str, float]:
    """alpha / r of each LoRA tower of the config (prefix -> scale)."""
    scales = {}
    backbone = cfg.model.backbone
    for prefix, part in zip(LORA_TOWERS, ('sam2', 'vision', 'text')):
        lora = backbone[part].get('lora')
        if lora:
            scales[prefix] = lora.get('alpha', lora['r']) / lora['r']
    return scales


def merge_lora_state(state: StateDict, scales: Dict[str, float]) -> StateDict:
    """Folds every ``x.lora_B.default`` · ``x.lora_A.default`` into ``x.base_layer.weight``
    (× alpha / r of its tower) and renames ``x.base_layer.*`` to ``x.*``."""
    out = OrderedDict()
    for key, value in state.items():
        if '.lora_A.' in key or '.lora_B.' in key:
            continue
        if '.base_layer.' not in key:
            out[key] = value
            continue
        module = key.split('.base_layer.')[0]
        if key.endswith('.base_layer.weight'):
            lora_a = state[module + '.lora_A.default.weight']
            lora_b = state[module + '.lora_B.default.weight']
            scale = next(s for p, s in scales.items() if key.startswith(p))
            delta = (lora_b.flatten(1).double() @ lora_a.flatten(1).double()) * scale
            value = (value.double() + delta.view(value.shape)).to(value.dtype)
        out[key.replace('.base_layer.', '.')] = value
    return out


def _load_base(path: str, what: str) -> StateDict:
    if osp.isdir(path):
        path = osp.join(path, 'model.safetensors')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} weights {path} do not exist')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    return state.get('model', state)


def base_weights(sam2: Optional[str], siglip: Optional[str]) -> StateDict:
    """The frozen weights of ``--sam2`` (original SAM 2 layout) and ``--siglip``
    (``SiglipModel`` layout) under mmrrsis names, without LoRA's ``base_layer``."""
    out = OrderedDict()
    if sam2:
        ref = {SAM + k: v for k, v in _load_base(sam2, 'SAM 2').items()
               if k.startswith(('image_encoder.', 'sam_prompt_encoder.', 'sam_mask_decoder.',
                                'no_mem_embed'))}
        converted, _ = convert_state(ref)
        out.update(converted)
    if siglip:
        for key, value in _load_base(siglip, 'SigLIP').items():
            if key.startswith('vision_model.') and '.head.' not in key:
                out['backbone.vision.model.' + key[len('vision_model.'):]] = value
            elif key.startswith('text_model.'):
                out['backbone.text.model.' + key[len('text_model.'):]] = value
            elif key in ('logit_scale', 'logit_bias'):
                out['backbone.text.' + key] = value.reshape(1)
    return out


def fill_from_base(state: StateDict, base: StateDict, expected: Dict[str, torch.Size]) -> List[str]:
    """Adds to ``state`` the ``expected`` keys it lacks, from ``base`` (a LoRA-wrapped key
    ``x.base_layer.w`` read as ``x.w``); returns the keys filled."""
    filled = []
    for key in expected:
        if key in state:
            continue
        source = key.replace('.base_layer.', '.')
        if source in base:
            state[key] = base[source]
            filled.append(key)
    return filled


def expected_shapes(cfg) -> Dict[str, torch.Size]:
    """Key -> shape of the model ``cfg`` builds, on the meta device (no memory, no weights)."""
    import copy

    from mmrrsis.registry import MODELS
    from mmrrsis.utils.set_env import register_all_modules
    register_all_modules()
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('data_preprocessor', None)
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    return {k: v.shape for k, v in model.state_dict().items()}


def convert(src: str, config: str = DEFAULT_CONFIG, sam2: Optional[str] = None,
            siglip: Optional[str] = None, merge: bool = False) -> dict:
    """Converts the reference checkpoint ``src`` for the model of ``config``.

    Returns:
        dict: ``state``, ``dropped`` (reference keys reaching no output), ``filled`` (keys
        taken from the base weights), ``cfg_options`` (with ``merge``: no LoRA) and ``cfg``.
    """
    from mmengine.config import Config
    ckpt = load_reference_checkpoint(src)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise CheckpointConversionError(
            f'{src} has no "state_dict" entry (top-level keys '
            f'{sorted(ckpt)[:20] if isinstance(ckpt, dict) else type(ckpt).__name__}): not a '
            'checkpoint of the RSRefSeg 2 code')
    state, dropped = convert_state(ckpt['state_dict'])
    cfg = Config.fromfile(config)  # imports the project (custom_imports)
    expected = expected_shapes(cfg)
    filled = []
    if sam2 or siglip:
        filled = fill_from_base(state, base_weights(sam2, siglip), expected)
    check_against_model(state, expected)
    options = {}
    if merge:
        state = merge_lora_state(state, lora_scale(cfg))
        options = {f'model.backbone.{part}.lora': None for part in ('sam2', 'vision', 'text')}
        cfg.merge_from_dict(options)
        check_against_model(state, expected_shapes(cfg))
    return dict(state=state, dropped=dropped, filled=filled, cfg_options=options, cfg=cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint of the reference RSRefSeg 2 code')
    parser.add_argument('dst', help='mmrrsis checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='mmrrsis config whose model the weights must fill')
    parser.add_argument('--sam2', default=None,
                        help='sam2.1_hiera_large.pt, for a release without the frozen weights')
    parser.add_argument('--siglip', default=None,
                        help='SigLIP 2 model.safetensors (or its folder), likewise')
    parser.add_argument('--merge-lora', action='store_true',
                        help='fold the LoRA adapters into the weights (model without LoRA)')
    args = parser.parse_args()
    out = convert(args.src, args.config, args.sam2, args.siglip, args.merge_lora)
    print(f'dropped {len(out["dropped"])} reference keys that reach no output: '
          f'{out["dropped"][:10]}{" ..." if len(out["dropped"]) > 10 else ""}')
    if out['filled']:
        print(f'filled {len(out["filled"])} keys from the base weights')
    if out['cfg_options']:
        print('merged LoRA: test with --cfg-options ' +
              ' '.join(f'{k}=None' for k in out['cfg_options']))
    meta = dict(converted_from=osp.basename(args.src), config=osp.basename(args.config),
                merged_lora=args.merge_lora, cfg_options=out['cfg_options'],
                cfg=out['cfg'].pretty_text)
    torch.save(dict(state_dict=out['state'], meta=meta), args.dst)
    print(f'wrote {len(out["state"])} tensors to {args.dst}')


if __name__ == '__main__':
    main()
