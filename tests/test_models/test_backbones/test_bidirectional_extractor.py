import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement, PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmrrsis.models.backbones import BidirectionalExtractor
from mmrrsis.models.fusions import BSC
from mmrrsis.registry import MODELS

SWIN = dict(type='SwinTransformer', pretrain_img_size=64, embed_dims=16, depths=(2, 2, 2, 2),
            num_heads=(1, 1, 2, 2), window_size=4, drop_path_rate=0.)
BERT = dict(type='BertTextEncoder', pretrained=False, stages=(1, 1, 1, 1),
            bert_config=dict(vocab_size=60, hidden_size=32, num_hidden_layers=4,
                             num_attention_heads=2, intermediate_size=64))
WIDTHS = (16, 32, 64, 128)


def build(fusion=dict(type='BSC', embed_dims=8), **kwargs):
    torch.manual_seed(0)
    return BidirectionalExtractor(vision=SWIN, text=BERT, fusion=fusion, **kwargs)


def batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(2, 3, 64, 64, generator=gen)
    input_ids = torch.randint(5, 60, (2, 8), generator=gen)
    input_ids[:, 0] = 2
    attention_mask = torch.ones(2, 8, dtype=torch.long)
    attention_mask[0, 5:] = 0
    input_ids[0, 5:] = 0
    masked_ids = input_ids.clone()
    masked_ids[:, 1:3] = 0
    return inputs, dict(input_ids=input_ids, attention_mask=attention_mask,
                        masked_ids=masked_ids)


def open_gates(model, seed=1):
    torch.manual_seed(seed)
    for fusion in model.fusions:
        for norm in (fusion.gate_v[1], fusion.gate_l_norm):
            nn.init.normal_(norm.weight)
            nn.init.normal_(norm.bias)


def test_output_shapes_and_text_feats():
    model = build().train()
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    assert [tuple(o.shape) for o in outs] == [(2, c, 64 // s, 64 // s)
                                            for c, s in zip(WIDTHS, (4, 8, 16, 32))]
    assert set(text_feats) == {'feats', 'mask', 'masked_feats', 'masked_token_mask',
                               'target_feats'}
    # without a preprocessor-made mask, the replaced ids are compared
    assert torch.equal(text_feats['masked_token_mask'], text['masked_ids'] != text['input_ids'])
    for key in ('feats', 'masked_feats', 'target_feats'):
        assert text_feats[key].shape == (2, 8, 32)
    assert text_feats['mask'] is text['attention_mask']
    assert [f.vis_channels for f in model.fusions] == list(WIDTHS)
    assert all(f.text_channels == 32 for f in model.fusions)


def test_without_fusion_equals_swin_and_bert():
    model = build(fusion=None).eval()
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    expected = model.vision(inputs)
    assert len(outs) == len(expected) == 4
    for out, ref in zip(outs, expected):
        assert torch.equal(out, ref)
    ids, mask = text['input_ids'], text['attention_mask']
    assert torch.equal(text_feats['feats'], model.text(ids, mask))
    assert torch.equal(text_feats['masked_feats'], model.text(text['masked_ids'], mask))
    assert 'target_feats' not in text_feats


def test_closed_bsc_gates_equal_no_fusion():
    model = build().eval()
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    for out, ref in zip(outs, model.vision(inputs)):
        assert torch.equal(out, ref)
    assert torch.equal(text_feats['feats'],
                       model.text(text['input_ids'], text['attention_mask']))


def test_open_gates_let_text_steer_vision():
    model = build().eval()
    open_gates(model)
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    other = dict(text, input_ids=text['input_ids'].roll(1, dims=1))
    outs2, text_feats2 = model(inputs, other)
    for out, out2 in zip(outs, outs2):
        assert not torch.allclose(out, out2)
    # vision also reaches the text stream, but not the unfused masked encoding
    assert not torch.allclose(text_feats['feats'],
                              model.text(text['input_ids'], text['attention_mask']))
    assert torch.equal(text_feats['masked_feats'],
                       model.text(text['masked_ids'], text['attention_mask']))


def test_target_feats_no_grad_train_only():
    model = build().train()
    inputs, text = batch()
    _, text_feats = model(inputs, text)
    target = text_feats['target_feats']
    assert not target.requires_grad and target.grad_fn is None
    assert text_feats['masked_feats'].requires_grad
    assert model.text.training  # restored after the eval-mode target pass
    model.eval()
    torch.testing.assert_close(target, model.text(text['input_ids'], text['attention_mask']))
    _, text_feats = model(inputs, text)
    assert 'target_feats' not in text_feats
    # the default passes are BTDNet's masked text and target; without the target pass, none
    assert [p.name for p in model.text_passes] == ['masked', 'target']
    model = build(text_passes=(dict(name='masked', ids='masked_ids'), )).train()
    _, text_feats = model(inputs, text)
    assert 'target_feats' not in text_feats
    assert {'masked_feats', 'masked_token_mask'} <= set(text_feats)


def test_masked_ids_default_to_input_ids():
    model = build().eval()
    inputs, text = batch()
    del text['masked_ids']
    _, text_feats = model(inputs, text)
    assert torch.equal(text_feats['masked_feats'],
                       model.text(text['input_ids'], text['attention_mask']))


def test_per_stage_fusion_and_config_errors():
    model = build(fusion=[None, dict(type='BSC', embed_dims=8), None,
                          dict(type='BSC', embed_dims=8, directions=('l2v', ))])
    assert model.fusions[0] is None and model.fusions[2] is None
    assert isinstance(model.fusions[1], BSC) and model.fusions[1].vis_channels == 32
    assert model.fusions[3].directions == ('l2v', )
    inputs, text = batch()
    outs, _ = model.eval()(inputs, text)
    assert len(outs) == 4
    with pytest.raises(ValueError, match='3 fusion configs for 4 stages'):
        build(fusion=[None] * 3)
    with pytest.raises(ValueError, match='vis_channels=99'):
        build(fusion=dict(type='BSC', vis_channels=99))
    with pytest.raises(ValueError, match='2 stages but the Swin has 4'):
        BidirectionalExtractor(vision=SWIN, text=dict(BERT, stages=(2, 2)))
    with pytest.raises(TypeError, match='SwinTransformer'):
        BidirectionalExtractor(vision=dict(type='ResNetV1c', depth=18), text=BERT)


def test_init_weights_loads_swin_checkpoint_and_keeps_bert(tmp_path):
    torch.manual_seed(3)
    pretrained = MODELS.build(SWIN)
    ckpt = tmp_path / 'swin.pth'
    torch.save(pretrained.state_dict(), ckpt)
    model = BidirectionalExtractor(
        vision=dict(SWIN, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))), text=BERT)
    bert_before = copy.deepcopy(model.text.state_dict())
    model.init_weights()
    for key, value in pretrained.state_dict().items():
        assert torch.equal(model.vision.state_dict()[key], value), key
    for key, value in model.text.state_dict().items():
        assert torch.equal(value, bert_before[key]), key
    assert all(not f.gate_v[1].weight.any() for f in model.fusions)


def test_referring_segmentor_runs_it():
    cfg = dict(
        type='ReferringEncoderDecoder',
        backbone=dict(type='BidirectionalExtractor', vision=SWIN, text=BERT,
                      fusion=dict(type='BSC', embed_dims=8)),
        decode_head=dict(type='LanguageGatedHead', in_channels=list(WIDTHS),
                         in_index=[0, 1, 2, 3], input_transform='multiple_select',
                         channels=8, num_classes=2, text_channels=32))
    with DefaultScope.overwrite_default_scope('mmrrsis'):
        seg = MODELS.build(cfg)
    inputs, text = batch()
    samples = []
    for i in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        sample.text = BaseDataElement(**{k: v[i] for k, v in text.items()})
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 64, 64, dtype=torch.long))
        samples.append(sample)
    losses = seg.train().loss(inputs, samples)
    assert torch.isfinite(losses['decode.loss_ce'])


def bsc_params(c, c_l=768, d=256, windows=(1, 3, 5)):
    """Parameters of one BSC: φ/ψ window maps, window logits, projections, both gates."""
    phi = sum(c * r * r * d + d for r in windows)
    psi = sum(c_l * r * d + d for r in windows)
    proj = (c_l * c + c) + (c * c_l + c_l)
    gates = (2 * c * c + c + 2 * c) + (2 * c_l * c_l + c_l + 2 * c_l)
    return phi + psi + 2 * len(windows) + proj + gates  # one set of window logits per direction


def test_full_size_swin_b_bert_base_builds():
    """Swin-B + BERT-base + BSC at 4 stages, random weights, nothing downloaded.

    Expected: Swin-B (mmseg, 4 output norms, no classifier) 86.88M; BERT-base without its
    pooler 108.89M (bert-base-uncased's 109.48M minus the 0.59M pooler); BSC 34.76M, most of it
    the dense r x r window maps φ_r (C_i x D x Σr² = 35 · 256 · C_i: 9.2M at stage 4).
    """
    model = BidirectionalExtractor(
        vision=dict(type='SwinTransformer', pretrain_img_size=384, embed_dims=128,
                    depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=12),
        text=dict(type='BertTextEncoder', pretrained=False),
        fusion=dict(type='BSC'))

    def count(module):
        return sum(p.numel() for p in module.parameters())

    total, swin, bert = count(model), count(model.vision), count(model.text)
    bsc = [count(f) for f in model.fusions]
    print(f'BidirectionalExtractor Swin-B + BERT-base + 4 BSC: {total:,} parameters '
          f'(Swin {swin:,}, BERT {bert:,}, BSC {bsc})')
    assert 86.5e6 < swin < 87.5e6
    assert bert == 108_891_648
    assert bsc == [bsc_params(c) for c in (128, 256, 512, 1024)]
    assert 230e6 < total < 231e6
