"""The RMSIN checkpoint converter, on state dicts in the reference code's key layout made here."""
import argparse
import os.path as osp
import sys
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmrrsis.registry import MODELS
from mmrrsis.utils.ckpt_convert import CheckpointConversionError, check_against_model

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
TINY = osp.join(PROJECT, 'configs', 'rmsin_tiny_synthetic.py')
TINY_128 = osp.join(PROJECT, 'configs', 'rmsin_tiny_synthetic_128.py')
sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
import rmsin2mmrrsis  # noqa: E402
from rmsin2mmrrsis import cim_config, convert_rmsin  # noqa: E402

DEAD = ('backbone.layers.3.res_gate.', 'backbone.layers.3.visual_gate.',
        'backbone.layers.3.visual_residual.')


def build(config):
    cfg = Config.fromfile(config).model
    cfg.pop('data_preprocessor')
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def tiny_model():
    return build(TINY)


class Layout:
    """A random state dict with the key names and shapes of the reference RMSIN code."""

    def __init__(self, seed=0):
        self.gen = torch.Generator().manual_seed(seed)
        self.sd = OrderedDict()

    def add(self, key, *shape):
        self.sd[key] = torch.randn(*shape, generator=self.gen)

    def conv(self, key, cout, cin, k, bias=True):
        self.add(key + '.weight', cout, cin, k, k)
        if bias:
            self.add(key + '.bias', cout)

    def bn(self, key, c):
        self.add(key + '.weight', c)
        self.add(key + '.bias', c)
        self.add(key + '.running_mean', c)
        self.sd[key + '.running_var'] = torch.rand(c, generator=self.gen) + 0.5
        self.sd[key + '.num_batches_tracked'] = torch.tensor(5)

    def swin_stage(self, i, c, depth, heads, window, downsample):
        for j in range(depth):
            b = f'backbone.layers.{i}.blocks.{j}.'
            for norm in ('norm1', 'norm2'):
                self.add(b + norm + '.weight', c)
                self.add(b + norm + '.bias', c)
            self.add(b + 'attn.relative_position_bias_table', (2 * window - 1)**2, heads)
            self.sd[b + 'attn.relative_position_index'] = torch.randint(
                0, (2 * window - 1)**2, (window**2, window**2), generator=self.gen)
            self.add(b + 'attn.qkv.weight', 3 * c, c)
            self.add(b + 'attn.qkv.bias', 3 * c)
            self.add(b + 'attn.proj.weight', c, c)
            self.add(b + 'attn.proj.bias', c)
            self.add(b + 'mlp.fc1.weight', 4 * c, c)
            self.add(b + 'mlp.fc1.bias', 4 * c)
            self.add(b + 'mlp.fc2.weight', c, 4 * c)
            self.add(b + 'mlp.fc2.bias', c)
        if downsample:
            self.add(f'backbone.layers.{i}.downsample.reduction.weight', 2 * c, 4 * c)
            self.add(f'backbone.layers.{i}.downsample.norm.weight', 4 * c)
            self.add(f'backbone.layers.{i}.downsample.norm.bias', 4 * c)

    def mm_basic_layer(self, i, c, text):
        f = f'backbone.layers.{i}.fusion.'
        for name, cin in (('vis_project.0', c), ('image_lang_att.f_key.0', text),
                          ('image_lang_att.f_query.0', c), ('image_lang_att.f_value.0', text),
                          ('image_lang_att.W.0', c), ('project_mm.0', c)):
            self.add(f + name + '.weight', c, cin, 1)
            self.add(f + name + '.bias', c)
        for gate in ('res_gate', 'visual_gate'):
            self.add(f'backbone.layers.{i}.{gate}.0.weight', c, c)
            self.add(f'backbone.layers.{i}.{gate}.2.weight', c, c)
        rep = f'backbone.layers.{i}.visual_residual.repblock.'
        for suffix in ('', '_2'):
            self.conv(f'{rep}brb_3x3{suffix}.conv1', 1, 1, 1, bias=False)
            self.bn(f'{rep}brb_3x3{suffix}.bn1', 1)
            self.conv(f'{rep}brb_3x3{suffix}.conv2', 1, 1, 3, bias=False)
            self.bn(f'{rep}brb_3x3{suffix}.bn2', 1)
            self.conv(f'{rep}brb_1x1{suffix}.conv', 1, 1, 1, bias=False)
            self.bn(f'{rep}brb_1x1{suffix}.bn', 1)
            self.bn(f'{rep}brb_identity{suffix}', 1)

    def feed_forward(self, key, c):
        self.bn(key + 'bn1', c)
        self.conv(key + 'conv1', 2 * c, c, 1)
        self.bn(key + 'bn2', 2 * c)
        self.conv(key + 'conv2', 2 * c, 2, 3)  # c groups of 2
        self.conv(key + 'conv3', c, 2 * c, 1)

    def cim(self, widths, grid, heads, key, num_blocks=1):
        total, hidden = sum(widths), sum(widths) // 4
        c = 'backbone.cim.'
        self.conv(c + 'down_channel', hidden, total, 1)
        self.conv(c + 'up_channel', total, hidden, 1)
        self.bn(c + 'bn', hidden)
        value = 2 * key * heads
        tokens = grid**2 + ((grid - 1) // 2 + 1)**2 + ((grid - 1) // 3 + 1)**2
        for k in range(num_blocks):
            b = f'{c}block.{k}.'
            for csa in ('csa1', 'csa2'):
                m = f'{b}{csa}.m.'
                self.bn(m + 'bn1', hidden)
                self.conv(m + 'DWConv1.0', hidden, 1, 3)
                self.bn(m + 'DWConv1.1', hidden)
                self.conv(m + 'DWConv2.0', hidden, 1, 5)
                self.bn(m + 'DWConv2.1', hidden)
                self.add(m + 'attention.qkv.c.weight', 4 * key * heads, hidden)
                self.bn(m + 'attention.qkv.bn', 4 * key * heads)
                self.conv(m + 'attention.parallel_conv.1', value, 1, 3)
                self.add(m + 'attention.to_out.weight', hidden, value)
                self.add(m + 'attention.to_out.bias', hidden)
                self.add(m + 'attention.proj.weight', grid**2, tokens)
                self.add(m + 'attention.proj.bias', grid**2)
                self.bn(m + 'bn4', hidden)
                self.conv(m + 'conv', hidden, hidden, 1)
            for j, w in enumerate(widths):
                self.feed_forward(f'{b}intra_ff.m.ff{j + 1}.m.', w // 4)
            self.feed_forward(f'{b}ff.m.', hidden)
        for i, w in enumerate(widths):
            f = f'{c}fusion.{i}.'
            for conv, bn in (('local_embedding', 'bn1'), ('global_embedding', 'bn2'),
                             ('global_act', 'bn3')):
                self.conv(f + conv, w, w, 1)
                self.bn(f + bn, w)

    def decoder(self, widths, hidden):
        ins = {4: widths[3] + widths[2], 3: hidden + widths[1], 2: hidden + widths[0]}
        for level, cin in ins.items():
            self.conv(f'classifier.conv1_{level}', hidden, cin, 3, bias=False)
            self.bn(f'classifier.bn1_{level}', hidden)
            self.add(f'classifier.conv2_{level}.weight', 1, hidden, hidden, 3, 3)
            r = f'classifier.conv2_{level}.rounting_func.'
            self.add(r + 'dwc.weight', hidden, 1, 3, 3)
            self.add(r + 'norm.norm.weight', hidden)
            self.add(r + 'norm.norm.bias', hidden)
            self.add(r + 'fc_alpha.weight', 1, hidden)
            self.add(r + 'fc_alpha.bias', 1)
            self.add(r + 'fc_theta.weight', 1, hidden)
            self.bn(f'classifier.bn2_{level}', hidden)
        self.conv('classifier.conv1_1', 2, hidden, 1)


def reference_layout(model, seed=0):
    """(model state dict, BERT state dict) of the reference code for the tiny config's sizes."""
    layout = Layout(seed)
    swin = model.backbone.vision
    widths = swin.num_features
    window = swin.stages[0].blocks[0].attn.w_msa.window_size[0]
    layout.add('backbone.patch_embed.proj.weight', widths[0], 3, 4, 4)
    layout.add('backbone.patch_embed.proj.bias', widths[0])
    layout.add('backbone.patch_embed.norm.weight', widths[0])
    layout.add('backbone.patch_embed.norm.bias', widths[0])
    for i, (c, stage) in enumerate(zip(widths, swin.stages)):
        layout.swin_stage(i, c, len(stage.blocks), stage.blocks[0].attn.w_msa.num_heads, window,
                          stage.downsample is not None)
        layout.mm_basic_layer(i, c, model.backbone.text.embed_dims)
        layout.add(f'backbone.norm{i}.weight', c)
        layout.add(f'backbone.norm{i}.bias', c)
    csa = model.neck.blocks[0].csa1
    layout.cim(widths, model.neck.grid[0], csa.num_heads, csa.key_channels,
               len(model.neck.blocks))
    layout.decoder(widths, model.decode_head.channels)
    bert = OrderedDict((k, torch.randn(v.shape, generator=layout.gen))
                       for k, v in model.backbone.text.bert.state_dict().items())
    return layout.sd, bert


def lavt_one(ref, bert):
    one = OrderedDict(ref)
    one.update(('text_encoder.' + k, v) for k, v in bert.items())
    return one


def expected(model):
    return {k: v.shape for k, v in model.state_dict().items()}


def test_both_layouts_load_strictly_and_map_values(tiny_model):
    ref, bert = reference_layout(tiny_model)
    state, dropped, neck = convert_rmsin(lavt_one(ref, bert))
    assert neck == dict(grid=(2, 2), num_blocks=1)
    check_against_model(state, expected(tiny_model))
    tiny_model.load_state_dict(state, strict=True)
    assert sorted(dropped) == sorted(k for k in ref if k.startswith(DEAD))
    assert len(dropped) == 2 + 2 + 2 * 23
    apart, dropped_apart, _ = convert_rmsin(
        ref, OrderedDict(('module.' + k, v) for k, v in bert.items()))
    assert apart.keys() == state.keys() and dropped_apart == dropped
    assert all(torch.equal(apart[k], state[k]) for k in state)

    fusion, neck, head = tiny_model.backbone.fusions[1], tiny_model.neck, tiny_model.decode_head
    assert torch.equal(fusion.pwam.gate[2].weight, ref['backbone.layers.1.res_gate.2.weight'])
    assert torch.equal(fusion.scale_gate[0].weight, ref['backbone.layers.1.visual_gate.0.weight'])
    assert torch.equal(fusion.pwam.attn.out.weight,
                       ref['backbone.layers.1.fusion.image_lang_att.W.0.weight'][..., 0])
    rep = 'backbone.layers.1.visual_residual.repblock.'
    assert torch.equal(fusion.scale_branch.steps[1].identity.running_var,
                       ref[rep + 'brb_identity_2.running_var'])
    assert torch.equal(fusion.scale_branch.steps[0].kxk[2].weight,
                       ref[rep + 'brb_3x3.conv2.weight'])
    block = 'backbone.cim.block.0.'
    assert torch.equal(neck.blocks[0].csa2.token_proj.weight,
                       ref[block + 'csa2.m.attention.proj.weight'])
    assert torch.equal(neck.blocks[0].csa1.qkv_bn.running_mean,
                       ref[block + 'csa1.m.attention.qkv.bn.running_mean'])
    assert torch.equal(neck.blocks[0].iff.ffns[3].dwconv.bias,
                       ref[block + 'intra_ff.m.ff4.m.conv2.bias'])
    assert torch.equal(neck.gates[2].global_gate[1].weight, ref['backbone.cim.fusion.2.bn3.weight'])
    assert torch.equal(neck.in_proj.weight, ref['backbone.cim.down_channel.weight'])
    arc = head.fuse_steps[1][3]  # the reference's conv2_3
    assert torch.equal(arc.weight, ref['classifier.conv2_3.weight'])
    assert torch.equal(arc.routing.ln.bias, ref['classifier.conv2_3.rounting_func.norm.norm.bias'])
    assert torch.equal(head.fuse_steps[2][4].running_var, ref['classifier.bn2_2.running_var'])
    assert torch.equal(tiny_model.backbone.text.bert.encoder.layer[1].output.dense.weight,
                       bert['encoder.layer.1.output.dense.weight'])


def test_grid_is_read_from_the_weights():
    model = build(TINY_128)
    ref, bert = reference_layout(model)
    assert cim_config(ref) == dict(grid=(4, 4), num_blocks=1)
    bad = OrderedDict(ref)
    for csa in ('csa1', 'csa2'):
        bad[f'backbone.cim.block.0.{csa}.m.attention.proj.weight'] = torch.zeros(16, 25)
    with pytest.raises(CheckpointConversionError, match=r'unknown CIM token projection shape '
                       r'\(16, 25\)'):
        cim_config(bad)
    lavt = OrderedDict((k, v) for k, v in ref.items() if not k.startswith('backbone.cim.'))
    with pytest.raises(CheckpointConversionError, match='not an RMSIN checkpoint'):
        convert_rmsin(lavt, bert)


def test_unknown_and_missing_keys_are_listed(tiny_model):
    ref, bert = reference_layout(tiny_model)
    ref['backbone.cim.block.0.csa1.m.attention.extra.weight'] = torch.zeros(1)
    ref['backbone.layers.0.fusion.extra_branch.weight'] = torch.zeros(1)
    bert['cls.predictions.bias'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError) as error:
        convert_rmsin(ref, bert)
    for key in ('backbone.cim.block.0.csa1.m.attention.extra.weight',
                'backbone.layers.0.fusion.extra_branch.weight', 'cls.predictions.bias'):
        assert key in str(error.value)
    ref, bert = reference_layout(tiny_model)
    for key in [k for k in ref if k.startswith('backbone.layers.3.visual_gate.')]:
        del ref[key]
    with pytest.raises(CheckpointConversionError, match='last stage lacks'):
        convert_rmsin(ref, bert)
    ref, bert = reference_layout(tiny_model)
    del ref['classifier.conv2_2.rounting_func.fc_alpha.bias']
    state, _, _ = convert_rmsin(ref, bert)
    with pytest.raises(CheckpointConversionError, match=r'fuse_steps\.2\.3\.routing\.fc_alpha'):
        check_against_model(state, expected(tiny_model))


def test_cli_writes_the_grid_of_the_weights(tiny_model, tmp_path, monkeypatch, capsys):
    ref, bert = reference_layout(build(TINY_128))  # trained at 128 px, the config says 64
    src, dst = str(tmp_path / 'model_best.pth'), str(tmp_path / 'converted.pth')
    torch.save(dict(model=lavt_one(ref, bert), optimizer=dict(), epoch=3, lr_scheduler=dict(),
                    args=argparse.Namespace(model='lavt_one', lr=3e-5, mha='')), src)
    monkeypatch.setattr(sys, 'argv', ['rmsin2mmrrsis.py', src, dst, '--config', TINY])
    rmsin2mmrrsis.main()
    printed = capsys.readouterr().out
    assert 'CIM grid 4x4' in printed and 'model.neck.grid="(4, 4)"' in printed
    assert 'dropped 50 reference keys' in printed
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['neck'] == dict(grid=[4, 4], num_blocks=1)
    cfg = Config.fromstring(saved['meta']['cfg'], '.py')
    assert tuple(cfg.model.neck.grid) == (4, 4)
    model = MODELS.build(dict(cfg.model, data_preprocessor=None))
    model.load_state_dict(saved['state_dict'], strict=True)


def save_reference(path, model, **args):
    ref, bert = reference_layout(model)
    torch.save(dict(model=lavt_one(ref, bert), optimizer=dict(), epoch=3,
                    args=argparse.Namespace(model='lavt_one', **args)), str(path))
    return str(path), ref


def test_cli_writes_the_heads_of_args_mha(tiny_model, tmp_path, monkeypatch, capsys):
    src, ref = save_reference(tmp_path / 'mha.pth', tiny_model, mha='4-4-4-4')
    dst = str(tmp_path / 'converted.pth')
    monkeypatch.setattr(sys, 'argv', ['rmsin2mmrrsis.py', src, dst, '--config', TINY])
    rmsin2mmrrsis.main()
    printed = capsys.readouterr().out
    assert "heads per stage: 4-4-4-4 (from args.mha='4-4-4-4')" in printed
    options = {f'model.backbone.fusion.{i}.num_heads': 4 for i in range(4)}
    assert ' '.join(f'{k}={v}' for k, v in options.items()) in printed
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['cfg_options'] == options and saved['meta']['fusion_heads'] == [4] * 4
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(saved['meta']['cfg_options'])
    model = MODELS.build(dict(cfg.model, data_preprocessor=None))
    model.load_state_dict(saved['state_dict'], strict=True)
    assert [f.pwam.attn.num_heads for f in model.backbone.fusions] == [4, 4, 4, 4]
    # four heads split the 24 query channels of stage 1 into 4 x 6: not the one-head logits
    x = torch.randn(1, 24, 4, 4)
    text, mask = torch.randn(1, 3, tiny_model.backbone.text.embed_dims), torch.ones(1, 3)
    one = MODELS.build(dict(Config.fromfile(TINY).model, data_preprocessor=None))
    one.load_state_dict(saved['state_dict'], strict=True)
    four_out = model.backbone.fusions[0].pwam.attn(x.flatten(2).transpose(1, 2), text, mask)
    one_out = one.backbone.fusions[0].pwam.attn(x.flatten(2).transpose(1, 2), text, mask)
    assert not torch.allclose(four_out, one_out, atol=1e-4)


def test_heads_must_be_recorded_or_given(tiny_model, tmp_path):
    bare, _ = save_reference(tmp_path / 'bare.pth', tiny_model)
    with pytest.raises(CheckpointConversionError, match='no args.mha.*pass --num-heads'):
        rmsin2mmrrsis.convert(bare, TINY)
    out = rmsin2mmrrsis.convert(bare, TINY, num_heads='2')
    assert out['heads'] == [2] * 4 and out['heads_from'] == '--num-heads'
    assert [f.num_heads for f in out['cfg'].model.backbone.fusion] == [2, 2, 2, 2]
    default, _ = save_reference(tmp_path / 'default.pth', tiny_model, mha='')
    out = rmsin2mmrrsis.convert(default, TINY)
    assert out['heads'] == [1] * 4 and out['cfg_options'] == {}
    with pytest.raises(CheckpointConversionError, match='contradicts'):
        rmsin2mmrrsis.convert(default, TINY, num_heads='4')
