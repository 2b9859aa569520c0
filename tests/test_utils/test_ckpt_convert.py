"""The LAVT checkpoint converter, on reference-layout state dicts made here (tiny shapes)."""
import argparse
import fractions
import os.path as osp
import sys
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmrrsis.registry import MODELS
from mmrrsis.utils.ckpt_convert import (CheckpointConversionError, check_against_model,
                                        convert_lavt_lineage, load_reference_checkpoint,
                                        split_reference_checkpoint)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic.py')
sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
import lavt2mmrrsis  # noqa: E402


@pytest.fixture(scope='module')
def tiny_model():
    cfg = Config.fromfile(TINY).model
    cfg.pop('data_preprocessor')
    torch.manual_seed(0)
    return MODELS.build(cfg)


def reference_layout(model, seed=0):
    """A random state dict with the key names and shapes of the reference LAVT code."""
    gen = torch.Generator().manual_seed(seed)
    swin = model.backbone.vision
    widths = swin.num_features
    window = swin.stages[0].blocks[0].attn.w_msa.window_size[0]
    ref = OrderedDict()

    def add(key, *shape):
        ref[key] = torch.randn(*shape, generator=gen)

    add('backbone.patch_embed.proj.weight', widths[0], 3, 4, 4)
    add('backbone.patch_embed.proj.bias', widths[0])
    for part in ('weight', 'bias'):
        add(f'backbone.patch_embed.norm.{part}', widths[0])
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
        f = f'backbone.layers.{i}.fusion.'
        text = model.backbone.text.embed_dims
        for name, cin in (('vis_project.0', c), ('image_lang_att.f_key.0', text),
                          ('image_lang_att.f_query.0', c), ('image_lang_att.f_value.0', text),
                          ('image_lang_att.W.0', c), ('project_mm.0', c)):
            add(f + name + '.weight', c, cin, 1)
            add(f + name + '.bias', c)
        add(f'backbone.layers.{i}.res_gate.0.weight', c, c)
        add(f'backbone.layers.{i}.res_gate.2.weight', c, c)
        add(f'backbone.norm{i}.weight', c)
        add(f'backbone.norm{i}.bias', c)
    hidden = model.decode_head.channels
    ins = {4: widths[3] + widths[2], 3: hidden + widths[1], 2: hidden + widths[0]}
    for level, cin in ins.items():
        for conv, c_in in ((1, cin), (2, hidden)):
            add(f'classifier.conv{conv}_{level}.weight', hidden, c_in, 3, 3)
            for part in ('weight', 'bias', 'running_mean'):
                add(f'classifier.bn{conv}_{level}.{part}', hidden)
            ref[f'classifier.bn{conv}_{level}.running_var'] = torch.rand(hidden, generator=gen)
            ref[f'classifier.bn{conv}_{level}.num_batches_tracked'] = torch.tensor(7)
    add('classifier.conv1_1.weight', 2, hidden, 1, 1)
    add('classifier.conv1_1.bias', 2)
    bert = OrderedDict((k, torch.randn(v.shape, generator=gen))
                       for k, v in model.backbone.text.bert.state_dict().items())
    return ref, bert


def expected(model):
    return {k: v.shape for k, v in model.state_dict().items()}


def test_round_trip_loads_strictly_and_maps_values(tiny_model):
    ref, bert = reference_layout(tiny_model)
    state, dropped = convert_lavt_lineage(ref, bert, dead_prefixes=('backbone.layers.3.res_gate.',))
    check_against_model(state, expected(tiny_model))
    tiny_model.load_state_dict(state, strict=True)
    assert dropped == ['backbone.layers.3.res_gate.0.weight', 'backbone.layers.3.res_gate.2.weight']
    fusion = tiny_model.backbone.fusions[1]
    assert torch.equal(fusion.attn.query.weight,
                       ref['backbone.layers.1.fusion.image_lang_att.f_query.0.weight'][..., 0])
    assert torch.equal(fusion.gate[2].weight, ref['backbone.layers.1.res_gate.2.weight'])
    step = tiny_model.decode_head.fuse_steps[1]  # the reference's conv1_3 / bn1_3
    assert torch.equal(step[0].weight, ref['classifier.conv1_3.weight'])
    assert torch.equal(step[1].running_var, ref['classifier.bn1_3.running_var'])
    assert torch.equal(tiny_model.decode_head.conv_seg.bias, ref['classifier.conv1_1.bias'])
    assert torch.equal(tiny_model.backbone.text.bert.encoder.layer[0].output.dense.weight,
                       bert['encoder.layer.0.output.dense.weight'])
    assert torch.equal(tiny_model.backbone.vision.stages[0].blocks[0].ffn.layers[1].weight,
                       ref['backbone.layers.0.blocks.0.mlp.fc2.weight'])


def test_patch_merging_keeps_the_reference_function(tiny_model):
    """mmseg's merge with converted weights equals the original Swin's merge (written out)."""
    ref, bert = reference_layout(tiny_model)
    state, _ = convert_lavt_lineage(ref, bert, dead_prefixes=('backbone.layers.3.res_gate.',))
    tiny_model.load_state_dict(state)
    merge = tiny_model.backbone.vision.stages[0].downsample
    c = tiny_model.backbone.vision.num_features[0]
    x = torch.randn(2, 6 * 8, c)
    grid = x.view(2, 6, 8, c)
    # original Swin: concatenate (even, even), (odd, even), (even, odd), (odd, odd) pixels
    cat = torch.cat([grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2],
                     grid[:, 1::2, 1::2]], -1).view(2, -1, 4 * c)
    cat = torch.nn.functional.layer_norm(cat, (4 * c, ), ref['backbone.layers.0.downsample.norm.weight'],
                                         ref['backbone.layers.0.downsample.norm.bias'])
    expected_out = cat @ ref['backbone.layers.0.downsample.reduction.weight'].t()
    out, hw = merge(x, (6, 8))
    assert hw == (3, 4)
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-5)


def test_lavt_one_layout_gives_the_same_weights(tiny_model):
    ref, bert = reference_layout(tiny_model)
    dead = ('backbone.layers.3.res_gate.',)
    apart, _ = convert_lavt_lineage(ref, bert, dead_prefixes=dead)
    one = OrderedDict(ref)
    one.update(('text_encoder.' + k, v) for k, v in bert.items())
    inside, _ = convert_lavt_lineage(one, None, dead_prefixes=dead)
    assert apart.keys() == inside.keys()
    assert all(torch.equal(apart[k], inside[k]) for k in apart)
    with pytest.raises(CheckpointConversionError, match='both inside'):
        convert_lavt_lineage(one, bert, dead_prefixes=dead)
    with pytest.raises(CheckpointConversionError, match='no BERT'):
        convert_lavt_lineage(ref, None, dead_prefixes=dead)


def test_unknown_and_missing_keys_are_listed(tiny_model):
    ref, bert = reference_layout(tiny_model)
    dead = ('backbone.layers.3.res_gate.',)
    ref['backbone.layers.0.fusion.extra_branch.weight'] = torch.zeros(1)
    bert['cls.predictions.bias'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError) as error:
        convert_lavt_lineage(ref, bert, dead_prefixes=dead)
    assert 'backbone.layers.0.fusion.extra_branch.weight' in str(error.value)
    assert 'cls.predictions.bias' in str(error.value)
    ref, bert = reference_layout(tiny_model)
    del ref['classifier.bn2_2.running_mean']
    state, _ = convert_lavt_lineage(ref, bert, dead_prefixes=dead)
    with pytest.raises(CheckpointConversionError, match='fuse_steps.2.4.running_mean'):
        check_against_model(state, expected(tiny_model))


def test_cli_reads_reference_checkpoints_safely(tiny_model, tmp_path):
    ref, bert = reference_layout(tiny_model)
    src = str(tmp_path / 'model_best.pth')
    torch.save(dict(model=ref, bert_model=bert, optimizer=dict(), epoch=3, lr_scheduler=dict(),
                    args=argparse.Namespace(model='lavt', lr=5e-5, mha='')), src)
    out = lavt2mmrrsis.convert(src, TINY)
    tiny_model.load_state_dict(out['state'], strict=True)
    assert len(out['dropped']) == 2
    assert out['heads'] == [1, 1, 1, 1] and out['cfg_options'] == {} and out['stripped'] == []
    model, bert_sd = split_reference_checkpoint(load_reference_checkpoint(src), src)
    assert bert_sd is not None and 'classifier.conv1_1.bias' in model
    # any other pickled class stays refused
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(model=ref, args=fractions.Fraction(1, 3)), bad)
    with pytest.raises(CheckpointConversionError, match='safe loading'):
        load_reference_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_reference_checkpoint(str(tmp_path / 'missing.pth'))


def save_reference(path, model, bert=None, **args):
    """A checkpoint as the reference training script writes it (``args`` left out if empty)."""
    ckpt = dict(model=model, optimizer=dict(), epoch=3)
    if bert is not None:
        ckpt['bert_model'] = bert
    if args:
        ckpt['args'] = argparse.Namespace(model='lavt', **args)
    torch.save(ckpt, path)
    return str(path)


def test_cli_writes_the_heads_of_args_mha_into_meta(tiny_model, tmp_path, monkeypatch, capsys):
    ref, bert = reference_layout(tiny_model)
    src = save_reference(tmp_path / 'mha.pth', ref, bert, mha='4-4-4-4')
    dst = str(tmp_path / 'mha_mmrrsis.pth')
    monkeypatch.setattr(sys, 'argv', ['lavt2mmrrsis.py', src, dst, '--config', TINY])
    lavt2mmrrsis.main()
    printed = capsys.readouterr().out
    assert 'heads per stage: 4-4-4-4 (from args.mha=' in printed
    options = {f'model.backbone.fusion.{i}.num_heads': 4 for i in range(4)}
    assert '--cfg-options ' + ' '.join(f'{k}=4' for k in options) in printed
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['fusion_heads'] == [4, 4, 4, 4] and meta['cfg_options'] == options
    assert Config.fromstring(meta['cfg'], '.py').model.backbone.fusion[2].num_heads == 4
    # what tools/test.py does with those options: a 4-head model that the weights fill
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(meta['cfg_options'])
    cfg.model.pop('data_preprocessor')
    four = MODELS.build(cfg.model)
    assert [f.attn.num_heads for f in four.backbone.fusions] == [4, 4, 4, 4]
    four.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    # the reason the count must come from args: 1 and 4 heads have the same shapes
    assert expected(four) == expected(tiny_model)


def test_heads_may_differ_per_stage_and_must_be_known(tiny_model, tmp_path):
    ref, bert = reference_layout(tiny_model)
    out = lavt2mmrrsis.convert(save_reference(tmp_path / 'a.pth', ref, bert, mha='1-2-4-8'), TINY)
    assert out['heads'] == [1, 2, 4, 8]
    assert out['cfg_options'] == {'model.backbone.fusion.1.num_heads': 2,
                                  'model.backbone.fusion.2.num_heads': 4,
                                  'model.backbone.fusion.3.num_heads': 8}
    assert [f.num_heads for f in out['cfg'].model.backbone.fusion] == [1, 2, 4, 8]
    bare = save_reference(tmp_path / 'no_args.pth', ref, bert)
    with pytest.raises(CheckpointConversionError, match='no args.mha.*pass --num-heads'):
        lavt2mmrrsis.convert(bare, TINY)
    out = lavt2mmrrsis.convert(bare, TINY, num_heads='4')
    assert out['heads'] == [4, 4, 4, 4] and out['heads_from'] == '--num-heads'
    default = save_reference(tmp_path / 'default.pth', ref, bert, mha='')
    with pytest.raises(CheckpointConversionError, match='contradicts'):
        lavt2mmrrsis.convert(default, TINY, num_heads='4-4-4-4')
    odd = save_reference(tmp_path / 'odd.pth', ref, bert, mha='4-4')
    with pytest.raises(CheckpointConversionError, match="args.mha of .* is '4-4'"):
        lavt2mmrrsis.convert(odd, TINY)


def test_ddp_prefix_is_removed_from_model_and_bert(tiny_model, tmp_path, monkeypatch, capsys):
    ref, bert = reference_layout(tiny_model)
    plain = lavt2mmrrsis.convert(save_reference(tmp_path / 'plain.pth', ref, bert, mha=''),
                                 TINY)['state']

    def wrapped(state):
        return OrderedDict(('module.' + k, v) for k, v in state.items())

    src = save_reference(tmp_path / 'ddp.pth', wrapped(ref), wrapped(bert), mha='')
    out = lavt2mmrrsis.convert(src, TINY)
    assert out['stripped'] == ['model', 'bert_model']
    assert out['state'].keys() == plain.keys()
    assert all(torch.equal(out['state'][k], plain[k]) for k in plain)
    one = OrderedDict(ref)
    one.update(('text_encoder.' + k, v) for k, v in bert.items())
    out = lavt2mmrrsis.convert(save_reference(tmp_path / 'one.pth', wrapped(one), mha=''), TINY)
    assert out['stripped'] == ['model'] and out['state'].keys() == plain.keys()
    monkeypatch.setattr(sys, 'argv', ['lavt2mmrrsis.py', src, str(tmp_path / 'o.pth'),
                                      '--config', TINY])
    lavt2mmrrsis.main()
    assert 'bert_model: removed the DDP prefix "module." from every key' in capsys.readouterr().out
    mixed = wrapped(ref)
    mixed['classifier.conv1_1.bias'] = mixed.pop('module.classifier.conv1_1.bias')
    with pytest.raises(CheckpointConversionError, match=r'\(model\).*carry the DDP prefix'):
        lavt2mmrrsis.convert(save_reference(tmp_path / 'mixed.pth', mixed, bert, mha=''), TINY)


def test_other_layouts_are_named(tiny_model, tmp_path):
    _, bert = reference_layout(tiny_model)
    other = save_reference(tmp_path / 'other.pth', {'encoder.conv.weight': torch.zeros(1)}, bert,
                           mha='')
    with pytest.raises(CheckpointConversionError, match='no backbone.layers.* keys: not a LAVT'):
        lavt2mmrrsis.convert(other, TINY)
    nothing = str(tmp_path / 'nothing.pth')
    torch.save(dict(optimizer=dict(), epoch=3), nothing)
    with pytest.raises(CheckpointConversionError, match='neither a "model" entry'):
        lavt2mmrrsis.convert(nothing, TINY)
