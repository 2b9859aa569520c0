"""fianet2mmrrsis: reference-layout state dicts built here (tiny shapes) -> mmrrsis FIANet."""
import argparse
import os.path as osp
import sys
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS
from mmrrsis.utils.ckpt_convert import CheckpointConversionError, check_against_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = osp.join(REPO, 'projects', 'fianet', 'configs', 'fianet_tiny_synthetic.py')
sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
import fianet2mmrrsis  # noqa: E402


def _tiny_cfg(num_blocks=1):
    cfg = Config.fromfile(TINY)
    cfg.model.neck.num_blocks = num_blocks
    return cfg


@pytest.fixture(scope='module')
def tiny_model():
    cfg = _tiny_cfg().model
    cfg.pop('data_preprocessor')
    torch.manual_seed(0)
    return MODELS.build(cfg)


def reference_layout(model, num_blocks=1, seed=0):
    """A random ``lavt_one`` state dict with the key names and shapes of the FIANet code."""
    gen = torch.Generator().manual_seed(seed)
    swin = model.backbone.vision
    widths = swin.num_features
    text = model.backbone.text.embed_dims
    window = swin.stages[0].blocks[0].attn.w_msa.window_size[0]
    ref = OrderedDict()

    def add(key, *shape):
        ref[key] = torch.randn(*shape, generator=gen)

    def attention(prefix, c, c_text):
        for name, c_in in (('f_query.0', c), ('f_key.0', c_text), ('f_value.0', c_text),
                           ('W.0', c)):
            add(f'{prefix}{name}.weight', c, c_in, 1)
            add(f'{prefix}{name}.bias', c)

    def batch_norm(prefix, c):
        for part in ('weight', 'bias', 'running_mean'):
            add(prefix + part, c)
        ref[prefix + 'running_var'] = torch.rand(c, generator=gen) + 0.5
        ref[prefix + 'num_batches_tracked'] = torch.tensor(9)

    add('backbone.patch_embed.proj.weight', widths[0], 3, 4, 4)
    add('backbone.patch_embed.proj.bias', widths[0])
    add('backbone.patch_embed.norm.weight', widths[0])
    add('backbone.patch_embed.norm.bias', widths[0])
    for i, (c, stage) in enumerate(zip(widths, swin.stages)):
        heads = stage.blocks[0].attn.w_msa.num_heads
        for j in range(len(stage.blocks)):
            b = f'backbone.layers.{i}.blocks.{j}.'
            for norm in ('norm1', 'norm2'):
                add(b + norm + '.weight', c)
                add(b + norm + '.bias', c)
            add(b + 'attn.relative_position_bias_table', (2 * window - 1)**2, heads)
            ref[b + 'attn.relative_position_index'] = torch.randint(
                0, (2 * window - 1)**2, (window**2, window**2), generator=gen)
            add(b + 'attn.qkv.weight', 3 * c, c)
            add(b + 'attn.qkv.bias', 3 * c)
            add(b + 'attn.proj.weight', c, c)
            add(b + 'attn.proj.bias', c)
            add(b + 'mlp.fc1.weight', 4 * c, c)
            add(b + 'mlp.fc1.bias', 4 * c)
            add(b + 'mlp.fc2.weight', c, 4 * c)
            add(b + 'mlp.fc2.bias', c)
        if stage.downsample is not None:
            add(f'backbone.layers.{i}.downsample.reduction.weight', 2 * c, 4 * c)
            add(f'backbone.layers.{i}.downsample.norm.weight', 4 * c)
            add(f'backbone.layers.{i}.downsample.norm.bias', 4 * c)
        s = f'backbone.layers.{i}.'
        add(s + 'fc1.weight', c // 8, c)
        add(s + 'fc1.bias', c // 8)
        add(s + 'fc2.weight', c, c // 8)
        add(s + 'fc2.bias', c)
        for name in ('vis_project.0', 'project_mm.0'):
            add(f'{s}context_pixel_attn.{name}.weight', c, c, 1)
            add(f'{s}context_pixel_attn.{name}.bias', c)
        attention(s + 'context_pixel_attn.image_lang_att.', c, text)
        add(s + 'context_tanh_gate.0.weight', c, c)
        add(s + 'context_tanh_gate.2.weight', c, c)
        opab = s + 'object_position_align_blk.'
        attention(opab + 'go_cross_attn.', c, text)
        add(opab + 'go_tanh_gating.0.weight', c, c)
        add(opab + 'go_tanh_gating.2.weight', c, c)
        add(opab + 'go_embedding.weight', c, c)
        attention(opab + 'sp_cross_attn.', c, text)
        add(opab + 'conv1.weight', 1, 2, 3, 3)
        add(f'backbone.norm{i}.weight', c)
        add(f'backbone.norm{i}.bias', c)
    total = sum(widths)
    hidden = total // 4
    t = 'backbone.tmem.'
    add(t + 'down_channel.weight', hidden, total, 1, 1)
    add(t + 'down_channel.bias', hidden)
    add(t + 'up_channel.weight', total, hidden, 1, 1)
    add(t + 'up_channel.bias', total)
    for k in range(num_blocks):
        b = f'{t}block.{k}.'
        for norm in ('norm1', 'norm2'):
            add(f'{b}{norm}.weight', hidden)
            add(f'{b}{norm}.bias', hidden)
        attention(b + 'tma.', hidden, text)
        add(b + 'ff.net.0.weight', 2 * hidden, hidden)
        add(b + 'ff.net.0.bias', 2 * hidden)
        add(b + 'ff.net.3.weight', hidden, 2 * hidden)
        add(b + 'ff.net.3.bias', hidden)
    batch_norm(t + 'bn.', hidden)
    for i, c in enumerate(widths):
        f = f'{t}fusion.{i}.'
        for conv, bn in (('local_embedding', 'bn1'), ('global_embedding', 'bn2'),
                         ('global_act', 'bn3')):
            add(f'{f}{conv}.weight', c, c, 1, 1)
            add(f'{f}{conv}.bias', c)
            batch_norm(f'{f}{bn}.', c)
    dec = model.decode_head.channels
    ins = {4: widths[3] + widths[2], 3: dec + widths[1], 2: dec + widths[0]}
    for level, cin in ins.items():
        for conv, c_in in ((1, cin), (2, dec)):
            add(f'classifier.conv{conv}_{level}.weight', dec, c_in, 3, 3)
            batch_norm(f'classifier.bn{conv}_{level}.', dec)
    add('classifier.conv1_1.weight', 2, dec, 1, 1)
    add('classifier.conv1_1.bias', 2)
    for k, v in model.backbone.text.bert.state_dict().items():
        ref['text_encoder.' + k] = torch.randn(v.shape, generator=gen)
    return ref


def _expected(model):
    return {k: v.shape for k, v in model.state_dict().items()}


def test_round_trip_loads_strictly_and_maps_values(tiny_model):
    ref = reference_layout(tiny_model)
    state, dropped, num_blocks = fianet2mmrrsis.convert_fianet(ref)
    assert num_blocks == 1
    check_against_model(state, _expected(tiny_model))
    tiny_model.load_state_dict(state, strict=True)
    last = 'backbone.layers.3.'
    opab = last + 'object_position_align_blk.'
    assert set(dropped) == {k for k in ref if 'go_embedding' in k or k.startswith(
        (last + 'fc1.', last + 'fc2.', last + 'context_tanh_gate.', opab))}
    assert len(dropped) == 4 + 4 + 2 + 8 + 2 + 8 + 1
    fusion, neck = tiny_model.backbone.fusions[1], tiny_model.neck
    s = 'backbone.layers.1.'
    ctx, opab, t = s + 'context_pixel_attn.', s + 'object_position_align_blk.', 'backbone.tmem.'
    conv1d = {k: v[..., 0] for k, v in ref.items() if v.dim() == 3 and v.shape[-1] == 1}
    pairs = [
        (fusion.context.attn.key.weight, conv1d[ctx + 'image_lang_att.f_key.0.weight']),
        (fusion.context.vis_proj[0].bias, ref[ctx + 'vis_project.0.bias']),
        (fusion.context.gate[2].weight, ref[s + 'context_tanh_gate.2.weight']),
        (fusion.object_attn.query.weight, conv1d[opab + 'go_cross_attn.f_query.0.weight']),
        (fusion.object_gate[0].weight, ref[opab + 'go_tanh_gating.0.weight']),
        (fusion.position_attn.out.bias, ref[opab + 'sp_cross_attn.W.0.bias']),
        (fusion.position_conv.weight, ref[opab + 'conv1.weight']),
        (fusion.channel_mod[2].weight, ref[s + 'fc2.weight']),
        (neck.in_proj.weight, ref[t + 'down_channel.weight']),
        (neck.blocks[0].attn.value.weight, conv1d[t + 'block.0.tma.f_value.0.weight']),
        (neck.blocks[0].ffn[2].bias, ref[t + 'block.0.ff.net.3.bias']),
        (neck.blocks[0].norm2.weight, ref[t + 'block.0.norm2.weight']),
        (neck.out_bn.running_var, ref[t + 'bn.running_var']),
        (neck.gates[2].global_gate[1].running_mean, ref[t + 'fusion.2.bn3.running_mean']),
        (neck.gates[3].local_proj[0].weight, ref[t + 'fusion.3.local_embedding.weight']),
        (tiny_model.decode_head.fuse_steps[1][0].weight, ref['classifier.conv1_3.weight']),
        (tiny_model.backbone.text.bert.encoder.layer[0].output.dense.weight,
         ref['text_encoder.encoder.layer.0.output.dense.weight']),
        (tiny_model.backbone.vision.stages[0].blocks[0].ffn.layers[1].weight,
         ref['backbone.layers.0.blocks.0.mlp.fc2.weight']),
    ]
    for ours, theirs in pairs:
        assert torch.equal(ours, theirs)
    # the last stage is context-only: its PWAM comes over, nothing else
    assert not hasattr(tiny_model.backbone.fusions[3], 'object_attn')
    assert torch.equal(tiny_model.backbone.fusions[3].context.mm_proj[0].bias,
                       ref[last + 'context_pixel_attn.project_mm.0.bias'])


def test_unknown_and_missing_keys_are_listed(tiny_model):
    ref = reference_layout(tiny_model)
    ref['backbone.layers.0.object_position_align_blk.extra.weight'] = torch.zeros(1)
    ref['backbone.tmem.block.0.extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError) as error:
        fianet2mmrrsis.convert_fianet(ref)
    assert 'backbone.layers.0.object_position_align_blk.extra.weight' in str(error.value)
    assert 'backbone.tmem.block.0.extra.weight' in str(error.value)
    ref = reference_layout(tiny_model)
    del ref['backbone.tmem.fusion.1.bn2.running_mean']
    state, _, _ = fianet2mmrrsis.convert_fianet(ref)
    with pytest.raises(CheckpointConversionError, match=r'gates\.1\.global_proj\.1\.running_mean'):
        check_against_model(state, _expected(tiny_model))
    ref = reference_layout(tiny_model)
    for key in [k for k in ref if k.startswith('backbone.layers.3.fc1.')]:
        del ref[key]
    with pytest.raises(CheckpointConversionError, match=r"lacks \['backbone.layers.3.fc1.'\]"):
        fianet2mmrrsis.convert_fianet(ref)
    ref = {k: v for k, v in reference_layout(tiny_model).items() if 'tmem' not in k}
    with pytest.raises(CheckpointConversionError, match='not a FIANet checkpoint'):
        fianet2mmrrsis.convert_fianet(ref)


def test_cli_converts_a_saved_checkpoint(tiny_model, tmp_path, monkeypatch, capsys):
    vocab = build_vocab(['the car on the left'], str(tmp_path / 'vocab'), 50)
    ref = reference_layout(tiny_model, num_blocks=2)
    src, dst = str(tmp_path / 'model_best.pth'), str(tmp_path / 'fianet_mm.pth')
    torch.save(dict(model=ref, optimizer=dict(), epoch=3, lr_scheduler=dict(), best_oIoU=0.5,
                    args=argparse.Namespace(model='lavt_one', num_tmem=2, mha='')), src)
    monkeypatch.setattr('sys.argv', ['fianet2mmrrsis.py', src, dst, '--config', TINY])
    fianet2mmrrsis.main()
    printed = capsys.readouterr().out
    assert '2 TMEM block(s)' in printed
    assert 'model.neck.num_blocks=2' in printed
    assert 'dropped 29 reference keys' in printed
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['neck'] == dict(num_blocks=2)
    cfg = _tiny_cfg(num_blocks=2).model
    cfg.data_preprocessor.tokenizer = vocab
    model = MODELS.build(cfg)
    model.load_state_dict(saved['state_dict'], strict=True)
    assert torch.equal(model.neck.blocks[1].ffn[0].weight,
                       ref['backbone.tmem.block.1.ff.net.0.weight'])


def _save(path, model, **args):
    ref = reference_layout(model)
    torch.save(dict(model=ref, optimizer=dict(), epoch=3,
                    args=argparse.Namespace(model='lavt_one', **args)), str(path))
    return str(path)


def test_cli_writes_the_heads_of_args_mha(tiny_model, tmp_path, monkeypatch, capsys):
    src, dst = _save(tmp_path / 'mha.pth', tiny_model, mha='2-2-4-4'), str(tmp_path / 'c.pth')
    monkeypatch.setattr('sys.argv', ['fianet2mmrrsis.py', src, dst, '--config', TINY])
    fianet2mmrrsis.main()
    printed = capsys.readouterr().out
    assert "heads per stage: 2-2-4-4 (from args.mha='2-2-4-4')" in printed
    options = {f'model.backbone.fusion.{i}.num_heads': h for i, h in enumerate((2, 2, 4, 4))}
    assert ' '.join(f'{k}={v}' for k, v in options.items()) in printed
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['cfg_options'] == options
    cfg = _tiny_cfg()
    cfg.merge_from_dict(saved['meta']['cfg_options'])
    cfg.model.data_preprocessor = None
    model = MODELS.build(cfg.model)
    model.load_state_dict(saved['state_dict'], strict=True)
    fusions = model.backbone.fusions
    # every attention of a FIAM takes the stage's count (the reference's num_heads_fusion)
    assert [(f.context.attn.num_heads, f.object_attn.num_heads, f.position_attn.num_heads)
            for f in fusions[:3]] == [(2, 2, 2), (2, 2, 2), (4, 4, 4)]
    assert fusions[3].context.attn.num_heads == 4
    assert model.neck.blocks[0].attn.num_heads == 1


def test_heads_must_be_recorded_or_given(tiny_model, tmp_path):
    bare = _save(tmp_path / 'bare.pth', tiny_model, num_tmem=1)
    with pytest.raises(CheckpointConversionError, match='no args.mha.*pass --num-heads'):
        fianet2mmrrsis.convert(bare, TINY)
    out = fianet2mmrrsis.convert(bare, TINY, num_heads='1')
    assert out['heads'] == [1] * 4 and out['cfg_options'] == {}
    odd = _save(tmp_path / 'odd.pth', tiny_model, mha='8')
    with pytest.raises(CheckpointConversionError, match="args.mha of .* is '8'"):
        fianet2mmrrsis.convert(odd, TINY)
