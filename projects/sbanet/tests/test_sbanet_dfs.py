"""DFS: the selection is a per-channel convex mix of the two branches; text only on request."""
import pytest
import torch

from projects.sbanet.sbanet import DFS


def inputs(batch=3, channels=16, height=6, width=9, tokens=5, text_channels=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, height, width, generator=gen)
    text = torch.randn(batch, tokens, text_channels, generator=gen)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[0, 2:] = 0
    return x, text, mask


def dfs(**kwargs):
    torch.manual_seed(0)
    module = DFS(16, 12, **kwargs)
    module.init_weights()
    return module


def test_branch_weights_sum_to_one_and_make_the_output():
    module = dfs().train()
    x, _, _ = inputs()
    micro, macro = module.micro(x), module.macro(x)
    weights = module.branch_weights(micro, macro)
    assert weights.shape == (3, 2, 16)
    torch.testing.assert_close(weights.sum(1), torch.ones(3, 16))
    assert weights.min() > 0 and weights.max() < 1
    # per sample and channel, not one mix for all
    assert weights[:, 0].std(0).max() > 1e-4 and weights[0, 0].std() > 1e-4
    expected = x + weights[:, :1].transpose(1, 2)[..., None] * micro + \
        weights[:, 1:].transpose(1, 2)[..., None] * macro
    out = module(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_macro_branch_is_global_context():
    """A map whose pooled statistics agree at every scale gives the same macro value
    everywhere; the micro branch only sees a 3x3 neighbourhood."""
    module = dfs().eval()
    x = torch.ones(1, 16, 6, 6) * torch.randn(1, 16, 1, 1)
    macro = module.macro(x)
    torch.testing.assert_close(macro, macro[..., :1, :1].expand_as(macro))
    y = torch.randn(1, 16, 12, 12)
    z = y.clone()
    z[..., 8:, 8:] += 5
    assert torch.equal(module.micro(y)[..., :6, :6], module.micro(z)[..., :6, :6])
    assert not torch.allclose(module.macro(y)[..., :6, :6], module.macro(z)[..., :6, :6])


def test_text_conditioning_is_an_option():
    x, text, mask = inputs()
    plain = dfs().eval()
    assert plain.text_proj is None
    assert not any('text' in n for n, _ in plain.named_parameters())
    torch.testing.assert_close(plain(x, text, mask), plain(x))
    conditioned = dfs(text_conditioned=True).eval()
    assert sum(p.numel() for p in conditioned.parameters()) - \
        sum(p.numel() for p in plain.parameters()) == 12 * 16 + 16
    out = conditioned(x, text, mask)
    assert not torch.allclose(out, conditioned(x, text + 1, mask))
    noisy = text.clone()
    noisy[0, 2:] = 1e3  # padded tokens do not count
    torch.testing.assert_close(conditioned(x, noisy, mask), out)
    with pytest.raises(ValueError, match='needs the text'):
        conditioned(x)


def test_spec_batch_norm_option():
    module = dfs(select_norm_cfg=dict(type='BN1d')).train()
    assert type(module.squeeze[1]).__name__ == 'BatchNorm1d'
    x, _, _ = inputs()
    assert module(x).shape == x.shape


def test_tiny_maps_and_bad_arguments():
    module = dfs().eval()
    x = torch.randn(2, 16, 1, 2)  # smaller than the 3x3 and 6x6 pools
    assert module(x).shape == x.shape
    with pytest.raises(ValueError, match='DFS built for 16 channels got 8'):
        module(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match='reduction=32'):
        DFS(16, reduction=32)
    with pytest.raises(ValueError, match='pool_scales'):
        DFS(16, pool_scales=())
