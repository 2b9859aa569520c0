"""BAM: LAVT stage semantics, the closed and padding-safe text update, and its switches."""
import pytest
import torch
from torch import nn

from mmrrsis.models.backbones import StageWiseExtractor
from projects.sbanet.sbanet import BAM, DFS

SWIN = dict(type='SwinTransformer', pretrain_img_size=64, embed_dims=16, depths=(1, 1, 1, 1),
            num_heads=(1, 1, 2, 2), window_size=4, drop_path_rate=0.)
BERT = dict(type='BertTextEncoder', pretrained=False, stages=(2, ),
            bert_config=dict(vocab_size=60, hidden_size=32, num_hidden_layers=2,
                             num_attention_heads=2, intermediate_size=64))
WIDTHS = (16, 32, 64, 128)


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


def inputs(batch=2, channels=16, height=5, width=7, tokens=6, text_channels=32, seed=0):
    """(B, h*w, C) tokens of a random (B, C, h, w) map, (h, w), words and their mask."""
    gen = torch.Generator().manual_seed(seed)
    vis = torch.randn(batch, channels, height, width, generator=gen)
    text = torch.randn(batch, tokens, text_channels, generator=gen)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[1, 3:] = 0
    return to_tokens(vis), (height, width), text, mask


def bam(seed=0, open_text_gate=True, **kwargs):
    """A BAM in eval mode (fixed BN statistics), its text gate opened unless asked not to."""
    kwargs.setdefault('num_heads', 4)
    torch.manual_seed(seed)
    module = BAM(16, 32, **kwargs)
    module.init_weights()
    if open_text_gate and 'v2l' in module.directions:
        nn.init.normal_(module.text_gate[2].weight, std=0.1)
    return module.eval()


def test_shapes_at_every_stage_non_square():
    """64 x 96 input: each BAM gets and returns its stage's (B, h*w, C) tokens with its
    (h, w), and the words keep their shape."""
    torch.manual_seed(0)
    model = StageWiseExtractor(vision=SWIN, text=BERT, fusion=[
        dict(type='BAM', num_heads=4), dict(type='BAM', num_heads=4),
        dict(type='BAM', num_heads=4), dict(type='BAM', num_heads=4, last_stage=True)])
    model.init_weights()
    seen = []
    for fusion in model.fusions:
        fusion.register_forward_hook(
            lambda mod, args, out: seen.append((args[0].shape, tuple(args[1]), args[2].shape,
                                                [t.shape for t in out])))
    images = torch.randn(2, 3, 64, 96)
    ids = torch.randint(5, 60, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[0, 4:] = 0
    outs, text_feats = model(images, dict(input_ids=ids, attention_mask=mask))
    assert len(seen) == 4
    for i, (vis_shape, hw_shape, text_shape, out_shapes) in enumerate(seen):
        hw = (16 // 2**i, 24 // 2**i)
        expected = (2, hw[0] * hw[1], WIDTHS[i])
        assert hw_shape == hw
        assert tuple(vis_shape) == expected
        assert [tuple(s) for s in out_shapes] == [expected, expected, (2, 7, 32)]
        assert tuple(text_shape) == (2, 7, 32)
        assert tuple(outs[i].shape) == (2, WIDTHS[i], *hw)
    assert tuple(text_feats['feats'].shape) == (2, 7, 32)
    assert model.fusions[3].gate is None and model.fusions[0].queries.shape == (16, 16)
    assert model.fusions[3].last_stage and not model.fusions[0].last_stage
    assert [f.queries.shape[1] for f in model.fusions] == list(WIDTHS)


def test_lavt_stage_semantics():
    """Next stage: E = X + g_v(F) ⊙ F; stage output: F; without the gate E = X."""
    module = bam()
    vis, hw, text, mask = inputs()
    next_vis, out_vis, _ = module(vis, hw, text, mask)
    assert next_vis.shape == out_vis.shape == vis.shape == (2, 5 * 7, 16)
    expected = vis + module.gate(out_vis) * out_vis
    torch.testing.assert_close(next_vis, expected)
    assert not torch.allclose(next_vis, out_vis)
    no_gate = bam(last_stage=True)
    assert no_gate.last_stage and 'last_stage=True' in repr(no_gate)
    assert not any(n.startswith('gate.') for n, _ in no_gate.named_parameters())
    no_gate.load_state_dict(module.state_dict(), strict=False)
    next_vis, no_gate_out, _ = no_gate(vis, hw, text, mask)
    assert torch.equal(next_vis, vis)
    torch.testing.assert_close(no_gate_out, out_vis)


def test_text_gate_closed_at_init():
    """After mmengine's init the text update is exactly zero: L' = L (BERT's features)."""
    module = bam(open_text_gate=False)
    assert torch.count_nonzero(module.text_gate[2].weight) == 0
    vis, hw, text, mask = inputs()
    _, out_vis, new_text = module(vis, hw, text, mask)
    assert torch.equal(new_text, text)
    # the text still reaches the image through the queries
    _, other_vis, _ = module(vis, hw, text + torch.randn_like(text), mask)
    assert not torch.allclose(other_vis, out_vis)


def test_padded_tokens_unchanged_and_ignored():
    module = bam()
    vis, hw, text, mask = inputs()
    next_vis, out_vis, new_text = module(vis, hw, text, mask)
    pad = mask == 0
    assert pad.sum() == 3
    assert torch.equal(new_text[pad], text[pad])
    assert (new_text[~pad] - text[~pad]).abs().amin(-1).gt(0).all()  # every real token moves
    # whatever sits in padded slots changes nothing else
    noisy = text.clone()
    noisy[pad] = 1e3 * torch.randn(3, 32)
    noisy_next, noisy_out, noisy_text = module(vis, hw, noisy, mask)
    torch.testing.assert_close(noisy_next, next_vis)
    torch.testing.assert_close(noisy_out, out_vis)
    torch.testing.assert_close(noisy_text[~pad], new_text[~pad])
    assert torch.equal(noisy_text[pad], noisy[pad])


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_l2v_only_builds_no_text_update():
    full, l2v = bam(), bam(directions=('l2v', ))
    assert not any(n.startswith(('word_norm', 'v2l_attn', 'text_gate'))
                   for n, _ in l2v.named_parameters())
    removed = count(full.word_norm) + count(full.v2l_attn) + count(full.text_gate)
    assert count(full) - count(l2v) == removed == 2 * 32 + 2 * 32 * 32 + 2 * 16 * 32 + \
        4 * 32 + 2 * 32 * 32
    vis, hw, text, mask = inputs()
    l2v.load_state_dict(full.state_dict(), strict=False)
    next_vis, out_vis, new_text = l2v(vis, hw, text, mask)
    assert new_text is text
    # the vision side does not depend on the text update
    for a, b in zip((next_vis, out_vis), full(vis, hw, text, mask)[:2]):
        torch.testing.assert_close(a, b)


def test_no_dfs_reads_the_stage_directly():
    full, no_dfs = bam(), bam(dfs=None)
    assert isinstance(full.dfs, DFS) and no_dfs.dfs is None
    assert not any(n.startswith('dfs.') for n, _ in no_dfs.named_parameters())
    assert count(full) - count(no_dfs) == count(full.dfs)
    vis, hw, text, mask = inputs()
    queries = no_dfs.read_image(vis, hw, text, mask)
    # the DFS runs on the (B, C, h, w) map of the tokens and hands tokens back
    no_dfs_same = bam(dfs=None)
    no_dfs_same.load_state_dict(full.state_dict(), strict=False)
    scene = to_tokens(full.dfs(to_map(vis, hw), text, mask))
    torch.testing.assert_close(full.read_image(vis, hw, text, mask),
                               no_dfs_same.read_image(scene, hw, text, mask))
    # with an identity DFS the full BAM reads the same
    full.dfs.forward = lambda x, *args: x
    full.load_state_dict(no_dfs.state_dict(), strict=False)
    torch.testing.assert_close(full.read_image(vis, hw, text, mask), queries)


def test_text_conditioned_dfs_option():
    module = bam(dfs=dict(type='DFS', text_conditioned=True))
    assert module.dfs.text_conditioned and module.dfs.text_proj.in_features == 32
    vis, hw, text, mask = inputs()
    module(vis, hw, text, mask)


@pytest.mark.parametrize('num_queries', [1, 8, 32])
def test_num_queries(num_queries):
    module = bam(num_queries=num_queries)
    assert module.queries.shape == (num_queries, 16)
    assert count(bam()) - count(module) == (16 - num_queries) * 16
    vis, hw, text, mask = inputs()
    assert module.read_image(vis, hw, text, mask).shape == (2, num_queries, 16)
    assert module.queries.std().item() == pytest.approx(1.0, rel=0.6)


def pixel_contrast(x):
    """RMS over (B, N, C) tokens of the deviation from each channel's pixel mean, over the
    RMS of x: 0 for a map that is the same at every pixel."""
    return float((x - x.mean(1, keepdim=True)).pow(2).mean().sqrt() / x.pow(2).mean().sqrt())


def test_message_to_the_pixels_varies_over_them_at_init():
    """Near-identical queries (std 0.02) send every pixel the same message, so F is nearly
    constant over the image; queries of std 1 and the message's instance norm give F the
    contrast of LAVT's PWAM (see the README, Training from scratch)."""
    vis, hw, text, mask = inputs(height=8, width=8)
    messages = {}
    for name, kwargs in (('default', {}), ('old', dict(query_std=0.02, pixel_norm=False))):
        module = bam(**kwargs)
        module.l2v_attn.register_forward_hook(
            lambda mod, args, out, name=name: messages.__setitem__(name, out))
        messages[name + '_F'] = module(vis, hw, text, mask)[1].detach()
    assert pixel_contrast(messages['old']) < 0.02
    assert pixel_contrast(messages['default']) > 0.05
    assert pixel_contrast(messages['default_F']) > 0.5 > 0.3 > pixel_contrast(messages['old_F'])
    # F = P_o(GELU(P_v(X)) ⊙ IN(Attn(LN(X), Q³))), IN over the pixels of each channel (eps
    # 1e-5 as InstanceNorm)
    module = bam()
    queries = module.read_image(vis, hw, text, mask)
    message = module.l2v_attn(module.vis_norm(vis), queries)
    var, mean = torch.var_mean(message, dim=1, correction=0, keepdim=True)
    normed = (message - mean) / (var + 1e-5).sqrt()
    torch.testing.assert_close(module(vis, hw, text, mask)[1],
                               module.out_proj(module.vis_proj(vis) * normed),
                               atol=1e-4, rtol=1e-4)


def test_bad_arguments():
    with pytest.raises(ValueError, match='directions'):
        BAM(16, 32, num_heads=4, directions=('v2l', ))
    with pytest.raises(ValueError, match='num_heads=3 must divide vis_channels=16'):
        BAM(16, 32, num_heads=3)
    with pytest.raises(ValueError, match='BAM built for 16'):
        bam()(*inputs(channels=8))
    with pytest.raises(ValueError, match='BAM built for 16'):
        bam()(*inputs(text_channels=24))
