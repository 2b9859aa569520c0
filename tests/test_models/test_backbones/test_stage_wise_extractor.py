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


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


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
    """Test fusion: next stage gets 2V, the output 3V, the text +1 (3-tuple contract).

    Records the (B, N, C) token shape and hw_shape it is given."""

    def __init__(self, vis_channels, text_channels):
        super().__init__()
        self.vis_channels = vis_channels
        self.seen = None

    def forward(self, vis, hw_shape, text, mask):
        self.seen = (tuple(vis.shape), tuple(hw_shape))
        return 2 * vis, 3 * vis, text + 1


@MODELS.register_module(force=True)
class _TextPassesFusion(nn.Module):
    """Test fusion that records the text passes it is given."""
    takes_text_passes = True

    def __init__(self, vis_channels, text_channels):
        super().__init__()
        self.seen = None

    def forward(self, vis, hw_shape, text, mask, text_passes):
        self.seen = text_passes
        return vis, vis, text


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
    model = build(fusion=dict(type='_TextPassesFusion')).eval()
    seen = []
    model.fusions[0].forward = lambda vis, hw_shape, text, mask, text_passes: seen.append(
        text) or (vis, vis, text)
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
    # each fusion saw (B, h*w, C) tokens and its grid (h, w), that of its stage's output
    # (64 x 48 input: 16 x 12, 8 x 6, 4 x 3, then 2 x 2 after the Swin pads 3 to 4)
    grids = [tuple(out.shape[-2:]) for out in outs]
    assert grids == [(16, 12), (8, 6), (4, 3), (2, 2)]
    for fusion, width, hw in zip(model.fusions, WIDTHS, grids):
        assert fusion.seen == ((2, hw[0] * hw[1], width), hw)
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
        # BSC's map-based correlation, on the (B, C, h, w) map of the stage's tokens
        state['lang'] = model.text.forward_stage(i, state['lang'], mask)
        vis, state['lang'] = model.fusions[i].correlate(to_map(x, hw), state['lang'], mask)
        x = to_tokens(vis)
        return x, x

    for out, ref in zip(outs, swin_stage_loop(model.vision, inputs, fuse)):
        assert torch.equal(out, ref)
    assert torch.equal(text_feats['feats'], state['lang'])
    assert torch.equal(text_feats['masked_feats'], model.text(text['masked_ids'], mask))
    assert torch.equal(text_feats['masked_token_mask'], text['masked_ids'] != ids)


def test_masked_and_target_passes_only_when_asked():
    calls = []
    model = build(text_passes=[dict(name='masked', ids='masked_ids'),
                               dict(name='target', frozen=True, training_only=True)]).train()
    model.text.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    inputs, text = batch()
    _, text_feats = model(inputs, text)
    assert {'masked_feats', 'masked_token_mask', 'target_feats'} <= set(text_feats)
    assert len(calls) == 3  # context, masked text, target
    assert torch.equal(calls[1], text['masked_ids']) and torch.equal(calls[2], text['input_ids'])
    assert not text_feats['target_feats'].requires_grad
    assert text_feats['masked_feats'].requires_grad
    assert torch.equal(text_feats['masked_token_mask'], text['masked_ids'] != text['input_ids'])
    # the training-only target is not run in eval
    calls.clear()
    _, text_feats = model.eval()(inputs, text)
    assert 'target_feats' not in text_feats and 'masked_feats' in text_feats
    assert len(calls) == 2
    calls.clear()
    model_plain = build().train()
    model_plain.text.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    model_plain(inputs, text)
    assert len(calls) == 1


def test_extra_text_passes_reach_fusions_and_outputs():
    model = build(fusion=dict(type='_TextPassesFusion'),
                  text_passes=[dict(name='object_mask', mask='object_mask',
                                    to_fusions=True)]).eval()
    inputs, text = batch()
    text['object_mask'] = torch.zeros_like(text['attention_mask'])
    text['object_mask'][:, 1:3] = 1
    _, text_feats = model(inputs, text)
    feats, mask = model.fusions[0].seen['object_mask']
    assert torch.equal(mask, text['object_mask'])
    assert torch.equal(feats, model.text(text['input_ids'], text['object_mask']))
    assert torch.equal(text_feats['object_mask_feats'], feats)
    assert torch.equal(text_feats['object_mask'], text['object_mask'])
    assert set(model.fusions[0].seen) == {'object_mask'}
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
    with pytest.raises(ValueError, match='bad text pass'):
        build(text_passes=[dict(name='masked', key='masked_ids')])
    with pytest.raises(ValueError, match='repeat a name'):
        build(text_passes=[dict(name='masked'), dict(name='masked', ids='masked_ids')])
    with pytest.raises(ValueError, match='may not be named'):
        build(text_passes=[dict(name='object', mask='feats')])


def test_bad_fusion_return_is_named():
    @MODELS.register_module(force=True)
    class _OneTensor(nn.Module):
        def __init__(self, vis_channels, text_channels):
            super().__init__()

        def forward(self, vis, hw_shape, text, mask):
            return (vis, )

    model = build(fusion=dict(type='_OneTensor'))
    with pytest.raises(ValueError, match='_OneTensor returned 1'):
        model(*batch())
