"""TSCA: the identity at initialisation, level shapes kept, the sentence steers it."""
import pytest
import torch
from torch import nn

from projects.sbanet.sbanet import TSCA

WIDTHS = (8, 16, 32, 64)


def levels(batch=2, height=16, width=24, seed=0):
    """Swin-like levels of a non-square input: strides 4, 8, 16, 32 (odd sizes at the end)."""
    gen = torch.Generator().manual_seed(seed)
    sizes = [(height, width), (height // 2, width // 2), (height // 4, width // 4),
             ((height + 7) // 8, (width + 7) // 8)]
    return [torch.randn(batch, c, h, w, generator=gen) for c, (h, w) in zip(WIDTHS, sizes)]


def text(batch=2, tokens=6, channels=12, seed=1):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[1, 2:] = 0
    return dict(feats=torch.randn(batch, tokens, channels, generator=gen), mask=mask)


def tsca(open_outputs=False):
    torch.manual_seed(0)
    module = TSCA(WIDTHS, channels=8, text_channels=12)
    module.init_weights()
    if open_outputs:
        for conv in module.outputs:
            nn.init.normal_(conv.weight, std=0.1)
    return module


@pytest.mark.parametrize('height, width', [(16, 24), (20, 12)])
def test_identity_at_init(height, width):
    module = tsca().train()
    inputs = levels(height=height, width=width)
    outs = module(inputs, text())
    assert len(outs) == 4
    for out, x in zip(outs, inputs):
        assert torch.equal(out, x)


def test_shapes_and_text_dependence_once_open():
    module = tsca(open_outputs=True).eval()
    inputs, words = levels(), text()
    outs = module(inputs, words)
    for out, x in zip(outs, inputs):
        assert out.shape == x.shape and not torch.allclose(out, x)
    other = dict(words, feats=words['feats'] + torch.randn_like(words['feats']))
    assert all(not torch.allclose(a, b) for a, b in zip(module(inputs, other), outs))
    noisy = dict(words, feats=words['feats'].clone())
    noisy['feats'][1, 2:] = 1e3  # padded tokens do not count
    for a, b in zip(module(inputs, noisy), outs):
        torch.testing.assert_close(a, b)


def test_attention_weights():
    module = tsca().eval()
    z = torch.randn(2, 32, 8, 12)
    sentence = torch.randn(2, 12)
    channel = module.channel_weights(z, sentence)
    spatial = module.spatial_weights(z, sentence)
    assert channel.shape == (2, 32, 1, 1) and spatial.shape == (2, 1, 8, 12)
    for w in (channel, spatial):
        assert w.min() > 0 and w.max() < 1
    # the sentence changes both
    assert not torch.allclose(module.channel_weights(z, sentence + 1), channel)
    assert not torch.allclose(module.spatial_weights(z, -sentence), spatial)


def test_bad_inputs():
    module = tsca()
    with pytest.raises(ValueError, match='TSCA built for 4 levels got 3'):
        module(levels()[:3], text())
    with pytest.raises(ValueError, match='grid_index=4'):
        TSCA(WIDTHS, grid_index=4)
