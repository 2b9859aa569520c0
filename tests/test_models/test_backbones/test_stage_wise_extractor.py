import pytest
import torch
from torch import nn

from mmrrsis.models.backbones import BidirectionalExtractor, StageWiseExtractor
from mmrrsis.registry import MODELS

SWIN = dict(type='SwinTransformer', pretrain_img_size=64, embed_dims=16, depths=(1, 1, 1, 1),
            num_heads=(1, 1, 2, 2), window_size=4, drop_path_rate=0.)
BERT_CFG = dict(vocab_size=60, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                intermediate_size=64)
WIDTHS = (16, 32, 64, 128)


def bert(stages=(4, )):
    return dict(type='BertTextEncoder', pretrained=False, stages=stages, bert_config=BERT_CFG)


def build(cls=StageWiseExtractor, seed=0, **kwargs):
    kwargs.setdefault('text', bert())
    torch.manual_seed(seed)
    return cls(vision=SWIN, **kwargs)


def batch(height=64, width=48, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(2, 3, height, width, generator=gen)
    input_ids = torch.randint(5, 60, (2, 8), generator=gen)
    attention_mask = torch.ones(2, 8, dtype=torch.long)
    attention_mask[0, 5:] = 0
    input_ids[0, 5:] = 0
    masked_ids = input_ids.clone()
    masked_ids[:, 1:3] = 0
    return inputs, dict(input_ids=input_ids, attention_mask=attention_mask,
                        masked_ids=masked_ids)


@MODELS.register_module(force=True)
class _ScaleFusion(nn.Module):
    """Test fusion: next stage gets 2V, the output 3V, the text +1 (3-tuple contract)."""

    def __init__(self, vis_channels, text_channels):
        super().__init__()
        self.vis_channels = vis_channels

    def forward(self, vis, text, mask):
        return 2 * vis, 3 * vis, text + 1


@MODELS.register_module(force=True)
class _ExtraTextFusion(nn.Module):
    """Test fusion that records the extra text passes it is given."""
    takes_extra_text = True

    def __init__(self, vis_channels, text_channels):
        super().__init__()
        self.seen = None

    def forward(self, vis, text, mask, extra_text):
        self.seen = extra_text
        return vis, text


def swin_stage_loop(swin, inputs, stage_fn):
    """The Swin forward written out: stage_fn(i, x (B, N, C), hw) -> (next, out)."""
    x, hw = swin.patch_embed(inputs)
    x = swin.drop_after_pos(x)
    outs = []
    for i, stage in enumerate(swin.stages):
        for block in stage.blocks:
            x = block(x, hw)
        x, out = stage_fn(i, x, hw)
        out = getattr(swin, f'norm{i}')(out)
        outs.append(out.view(-1, *hw, swin.num_features[i]).permute(0, 3, 1, 2))
        if stage.downsample is not None:
            x, hw = stage.downsample(x.contiguous(), hw)
    return outs


def test_fusion_free_equals_swin_and_bert_run_whole():
    model = build().eval()
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    for out, ref in zip(outs, model.vision(inputs)):
        assert torch.equal(out, ref)
    assert torch.equal(text_feats['feats'], model.text(text['input_ids'], text['attention_mask']))
    # nothing asked for, nothing run
    assert set(text_feats) == {'feats', 'mask'}


def test_whole_text_runs_before_the_first_fusion():
    model = build(fusion=dict(type='_ExtraTextFusion')).eval()
    seen = []
    model.fusions[0].forward = lambda vis, text, mask, extra_text: seen.append(text) or (vis,
                                                                                      text)
    inputs, text = batch()
    model(inputs, text)
    assert torch.equal(seen[0], model.text(text['input_ids'], text['attention_mask']))


def test_three_tuple_fusion_splits_output_and_next_stage():
    model = build(fusion=dict(type='_ScaleFusion')).eval()
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    expected = swin_stage_loop(model.vision, inputs, lambda i, x, hw: (2 * x, 3 * x))
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref, rtol=0, atol=0)
    lang = model.text(text['input_ids'], text['attention_mask'])
    torch.testing.assert_close(text_feats['feats'], lang + 4)  # each stage updated the text


def test_bidirectional_extractor_is_the_interleaved_btdnet_loop():
    bsc = dict(type='BSC', embed_dims=8)
    model = build(BidirectionalExtractor, fusion=bsc, text=bert((1, 1, 1, 1))).eval()
    for fusion in model.fusions:  # open the zero-start gates so the fusion matters
        for norm in (fusion.gate_v[1], fusion.gate_l_norm):
            nn.init.normal_(norm.weight)
            nn.init.normal_(norm.bias)
    inputs, text = batch()
    outs, text_feats = model(inputs, text)
    ids, mask = text['input_ids'], text['attention_mask']
    state = dict(lang=model.text.embed(ids))

    def fuse(i, x, hw):
        state['lang'] = model.text.forward_stage(i, state['lang'], mask)
        vis = x.transpose(1, 2).reshape(-1, model.vision.num_features[i], *hw)
        vis, state['lang'] = model.fusions[i](vis, state['lang'], mask)
        x = vis.flatten(2).transpose(1, 2)
        return x, x

    for out, ref in zip(outs, swin_stage_loop(model.vision, inputs, fuse)):
        assert torch.equal(out, ref)
    assert torch.equal(text_feats['feats'], state['lang'])
    assert torch.equal(text_feats['masked_feats'], model.text(text['masked_ids'], mask))
    assert torch.equal(text_feats['masked_token_mask'], text['masked_ids'] != ids)


def test_masked_and_target_passes_only_when_asked():
    calls = []
    model = build(with_masked_feats=True, with_target_feats=True).train()
    model.text.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    inputs, text = batch()
    _, text_feats = model(inputs, text)
    assert {'masked_feats', 'masked_token_mask', 'target_feats'} <= set(text_feats)
    assert len(calls) == 3  # context, masked text, target
    assert not text_feats['target_feats'].requires_grad
    calls.clear()
    model_plain = build().train()
    model_plain.text.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    model_plain(inputs, text)
    assert len(calls) == 1


def test_extra_text_passes_reach_fusions_and_outputs():
    model = build(fusion=dict(type='_ExtraTextFusion'),
                  extra_text_masks=('object_mask', )).eval()
    inputs, text = batch()
    text['object_mask'] = torch.zeros_like(text['attention_mask'])
    text['object_mask'][:, 1:3] = 1
    _, text_feats = model(inputs, text)
    feats, mask = model.fusions[0].seen['object_mask']
    assert torch.equal(mask, text['object_mask'])
    assert torch.equal(feats, model.text(text['input_ids'], text['object_mask']))
    assert torch.equal(text_feats['object_mask_feats'], feats)
    del text['object_mask']
    with pytest.raises(KeyError, match='object_mask'):
        model(inputs, text)


def test_configuration_errors():
    with pytest.raises(ValueError, match='interleaved'):
        build(text_mode='interleaved')  # a 1-stage text encoder for 4 Swin stages
    with pytest.raises(ValueError, match='text_mode'):
        build(text_mode='sideways')
    with pytest.raises(ValueError, match='3 fusion configs'):
        build(fusion=[None, None, None])
    with pytest.raises(ValueError, match='may not name'):
        build(extra_text_masks=('attention_mask', ))


def test_bad_fusion_return_is_named():
    @MODELS.register_module(force=True)
    class _OneTensor(nn.Module):
        def __init__(self, vis_channels, text_channels):
            super().__init__()

        def forward(self, vis, text, mask):
            return (vis, )

    model = build(fusion=dict(type='_OneTensor'))
    with pytest.raises(ValueError, match='_OneTensor returned 1'):
        model(*batch())
