"""tools/model_converters/rsrefseg2mmrrsis.py: a state dict in the reference layout (built here
from the tiny model by the reference's naming) converts back to the model's own; LoRA merged
gives the same outputs; unknown and missing keys are errors that list them."""
import importlib.util
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmrrsis.models.utils import lora_layers
from mmrrsis.registry import MODELS
from mmrrsis.utils.ckpt_convert import CheckpointConversionError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = osp.join(REPO, 'projects', 'rsrefseg2', 'configs', 'rsrefseg2_tiny_synthetic.py')
SPEC = importlib.util.spec_from_file_location(
    'rsrefseg2mmrrsis', osp.join(REPO, 'tools', 'model_converters', 'rsrefseg2mmrrsis.py'))
converter = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(converter)

SAM, PEFT = 'backbone.model.', 'base_model.model.'
# (our name, the reference's) fragments, applied in order with re.sub
OURS_TO_REFERENCE = [
    (r'^backbone\.sam2\.vision_encoder\.backbone\.', SAM + 'image_encoder.' + PEFT + 'trunk.'),
    (r'^backbone\.sam2\.vision_encoder\.neck\.convs\.(\d+)\.',
     SAM + 'image_encoder.' + PEFT + r'neck.convs.\1.conv.'),
    (r'^backbone\.sam2\.conv_s(\d)', SAM + r'sam_mask_decoder.conv_s\1'),
    (r'^backbone\.sam2\.no_memory_embedding$', SAM + 'no_mem_embed'),
    (r'^decode_head\.sam\.prompt_encoder\.mask_embed\.', SAM + 'sam_prompt_encoder.mask_embed.'),
    (r'^decode_head\.sam\.prompt_encoder\.', SAM + 'sam_prompt_encoder.'),
    (r'^decode_head\.sam\.mask_decoder\.', SAM + 'sam_mask_decoder.'),
    (r'^backbone\.vision\.model\.', 'clip_vision_encoder.' + PEFT + 'model.'),
    (r'^backbone\.text\.model\.', 'clip_text_encoder.' + PEFT + 'model.'),
    (r'^backbone\.text\.logit_(scale|bias)$', 'clip_text_encoder.' + PEFT + r'logit_\1'),
    (r'^decode_head\.contrast_loss\.logit_(scale|bias)$', r'decode_head.logit_\g<1>2'),
    (r'^neck\.text_layers\.', 'prompter.two_queries_text_attn_layers.'),
    (r'^neck\.image_layers\.', 'prompter.queries1_to_img_attn_layers.'),
    (r'^neck\.prompt_layers\.', 'prompter.prompt_queries2_img_attn_layers.'),
    (r'^neck\.query_pe(\d)$', r'prompter.text_query_pe_embedding\1'),
    (r'^neck\.image_pe$', 'prompter.img_pe'),
    (r'^neck\.prompt_embed$', 'prompter.prompt_embedding'),
    (r'^neck\.prompt_pe$', 'prompter.prompt_pe_embedding'),
    (r'^neck\.sparse_mlp\.', 'prompter.sparse_prompt_mlp.'),
    (r'^neck\.dense_conv\.', 'prompter.dense_prompt_conv.'),
]
# the original SAM 2 names inside each module
SAM2_NAMES = [
    (r'patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'mask_embed\.layer_norm1\.', 'mask_downscaling.1.'),
    (r'mask_embed\.layer_norm2\.', 'mask_downscaling.4.'), (r'\.layer_norm(\d)\.', r'.norm\1.'),
    (r'blocks\.(\d+)\.mlp\.proj_in\.', r'blocks.\1.mlp.layers.0.'),
    (r'blocks\.(\d+)\.mlp\.proj_out\.', r'blocks.\1.mlp.layers.1.'),
    (r'mask_embed\.conv1\.', 'mask_downscaling.0.'),
    (r'mask_embed\.conv2\.', 'mask_downscaling.3.'),
    (r'mask_embed\.conv3\.', 'mask_downscaling.6.'),
    (r'upscale_conv1\.', 'output_upscaling.0.'), (r'upscale_layer_norm\.', 'output_upscaling.1.'),
    (r'upscale_conv2\.', 'output_upscaling.3.'), (r'\.o_proj\.', '.out_proj.'),
    (r'layer_norm_final_attn\.', 'norm_final_attn.'),
    (r'(transformer\.layers\.\d+\.mlp)\.proj_in\.', r'\1.layers.0.'),
    (r'(transformer\.layers\.\d+\.mlp)\.proj_out\.', r'\1.layers.1.'),
    (r'\.proj_in\.', '.layers.0.'), (r'\.layers\.0\.(weight|bias)$', r'.layers.1.\1'),
    (r'\.proj_out\.', '.layers.2.'),
]
OPS = {
    'text_layers': [(r'\.self_attn(\d)\.', r'.self_attn_query_query\1.'),
                    (r'\.text_attn(\d)\.', r'.cross_attn_query_text_query\1_text.'),
                    (r'\.cross_attn1\.', '.cross_attn_query_query_query1_query2.'),
                    (r'\.cross_attn2\.', '.cross_attn_query_query_query2_query1.'),
                    (r'\.norm(\d)_(\d)\.', r'.norm_query\1_\2.'),
                    (r'\.mlp(\d)_(\d)\.', r'.mlp_query\1_\2.')],
    'image_layers': [(r'\.query_attn\.', '.self_attn_text_text_1.')],
    'prompt_layers': [(r'\.query_attn\.', '.self_attn_text_1.'),
                      (r'\.prompt_attn\.', '.self_attn_prompt_1.'),
                      (r'\.prompt_text_attn\.', '.cross_attn_prompt_text_1.'),
                      (r'\.prompt_image_attn\.', '.cross_attn_prompt_img_1.'),
                      (r'\.prompt_text_mlp\.', '.mlp_prompt_2.'),
                      (r'\.prompt_image_mlp\.', '.mlp_prompt_3.'),
                      (r'\.prompt_norm(\d)\.', r'.norm_prompt_\1.')],
}
SHARED_OPS = [(r'\.query_norm\.', '.norm_text_1.'), (r'\.image_attn\.', '.cross_attn_img_text_1.'),
              (r'\.image_norm(\d)\.', r'.norm_img_\1.'), (r'\.image_mlp\.', '.mlp_img_1.')]


def to_reference(state):
    """The tiny model's state dict in the reference's layout, plus what the reference holds
    beyond it (SigLIP's vision pooling head with LoRA, the head's unused scalars)."""
    ref = {}
    for key, value in state.items():
        if key == 'decode_head.sam.shared_image_embedding.positional_embedding':
            continue  # the reference holds the matrix once, in the prompt encoder
        if key == 'decode_head.sam.prompt_encoder.shared_embedding.positional_embedding':
            ref[SAM + 'sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'] = value
            continue
        if key == 'decode_head.sam.prompt_encoder.point_embed.weight':
            for i, row in enumerate(value):
                ref[SAM + f'sam_prompt_encoder.point_embeddings.{i}.weight'] = row[None]
            continue
        new = key
        for pattern, replacement in OURS_TO_REFERENCE:
            new, count = re.subn(pattern, replacement, new)
            if count:
                break
        assert new != key, key
        if new.startswith(SAM):
            for pattern, replacement in SAM2_NAMES:
                new, count = re.subn(pattern, replacement, new)
                if count and ('proj_' in pattern or 'layers' in pattern):
                    break  # one MLP rename per key
        stage = re.match(r'prompter\.(\w+)_layers\.', new)
        if stage:
            name = {'two_queries_text_attn': 'text_layers', 'queries1_to_img_attn':
                    'image_layers', 'prompt_queries2_img_attn': 'prompt_layers'}[stage.group(1)]
            for pattern, replacement in OPS[name] + SHARED_OPS:
                new = re.sub(pattern, replacement, new)
        ref[new] = value
    head = 'clip_vision_encoder.' + PEFT + 'model.head.'
    ref[head + 'probe'] = torch.zeros(1, 1, 32)
    ref[head + 'attention.out_proj.lora_A.default.weight'] = torch.zeros(4, 32)
    ref['decode_head.logit_scale1'] = torch.tensor(2.6)
    ref['decode_head.logit_bias1'] = torch.tensor(-0.7)
    return ref


@pytest.fixture(scope='module')
def tiny():
    cfg = Config.fromfile(TINY)
    cfg.model.pop('data_preprocessor')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_B['default'].weight.normal_(std=0.1)
        # one Gaussian matrix in SAM 2, two copies in transformers (equal in real weights)
        sam = model.decode_head.sam
        sam.shared_image_embedding.positional_embedding.copy_(
            sam.prompt_encoder.shared_embedding.positional_embedding)
    return model


def _save(tmp_path, state):
    path = str(tmp_path / 'reference.pth')
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), path)
    return path


def test_round_trip(tiny, tmp_path):
    state = tiny.state_dict()
    reference = to_reference(state)
    assert any('.base_layer.' in k for k in reference)
    out = converter.convert(_save(tmp_path, reference), TINY)
    assert sorted(out['state']) == sorted(state)
    for key, value in state.items():
        assert torch.equal(out['state'][key], value), key
    assert sorted(out['dropped']) == sorted(
        ['clip_vision_encoder.base_model.model.model.head.probe',
         'clip_vision_encoder.base_model.model.model.head.attention.out_proj.lora_A.default.weight',
         'decode_head.logit_scale1', 'decode_head.logit_bias1'])


def _sam2_logits(model, images, tokens):
    feats, text_feats = model.backbone(images, tokens)
    return model.decode_head(model.neck(feats, text_feats), text_feats)


def test_merge_lora_gives_the_same_model(tiny, tmp_path):
    out = converter.convert(_save(tmp_path, to_reference(tiny.state_dict())), TINY, merge=True)
    assert not any('lora_' in k or 'base_layer' in k for k in out['state'])
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(out['cfg_options'])
    cfg.model.pop('data_preprocessor')
    merged = MODELS.build(cfg.model)
    merged.load_state_dict(out['state'])
    images = torch.rand(2, 3, 64, 64)
    tokens = dict(input_ids=torch.randint(5, 200, (2, 6)),
                  attention_mask=torch.ones(2, 6, dtype=torch.long))
    tiny.eval()
    merged.eval()
    with torch.no_grad():
        expected = _sam2_logits(tiny, images, tokens)
        torch.testing.assert_close(_sam2_logits(merged, images, tokens), expected,
                                   rtol=1e-4, atol=1e-4)


def test_unknown_and_missing_keys_are_listed(tiny, tmp_path):
    reference = to_reference(tiny.state_dict())
    reference['prompter.extra_module.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError, match='prompter.extra_module.weight'):
        converter.convert(_save(tmp_path, reference), TINY)
    reference = to_reference(tiny.state_dict())
    del reference['prompter.img_pe']
    with pytest.raises(CheckpointConversionError, match=r'neck\.image_pe'):
        converter.convert(_save(tmp_path, reference), TINY)
    with pytest.raises(CheckpointConversionError, match='no "state_dict"'):
        torch.save({'model': {}}, str(tmp_path / 'other.pth'))
        converter.convert(str(tmp_path / 'other.pth'), TINY)
