import pytest
import torch
import torch.nn.functional as F

from mmrrsis.models.fusions import PWAM
from mmrrsis.models.utils import PixelWordAttention, pixel_instance_norm


def inputs(batch=2, channels=16, height=5, width=7, tokens=6, text_channels=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    vis = torch.randn(batch, channels, height, width, generator=gen)
    text = torch.randn(batch, tokens, text_channels, generator=gen)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[1, 3:] = 0
    return vis, text, mask


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


def test_pixel_instance_norm_equals_instance_norm1d():
    x = torch.randn(2, 30, 8)
    ref = F.instance_norm(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(pixel_instance_norm(x), ref)


def test_pixel_word_attention_by_hand():
    torch.manual_seed(0)
    attn = PixelWordAttention(8, 6, num_heads=2)
    vis, text = torch.randn(1, 10, 8), torch.randn(1, 4, 6)
    mask = torch.tensor([[1, 1, 1, 0]])
    q = pixel_instance_norm(attn.query(vis))
    k = attn.key(text) * mask[..., None]
    v = attn.value(text) * mask[..., None]
    heads = []
    for h in range(2):  # channels 4h..4h+3 form head h
        s = q[..., 4 * h:4 * h + 4] @ k[..., 4 * h:4 * h + 4].transpose(1, 2) / 8**0.5
        s = s - 1e4 * (1 - mask[:, None, :])  # scaled by the total key width, as LAVT
        heads.append(s.softmax(-1) @ v[..., 4 * h:4 * h + 4])
    expected = pixel_instance_norm(attn.out(torch.cat(heads, -1)))
    torch.testing.assert_close(attn(vis, text, mask), expected)


def test_pwam_shapes_semantics_and_padding():
    torch.manual_seed(0)
    pwam = PWAM(16, 12)
    pwam.init_weights()
    vis, text, mask = inputs()
    hw_shape = vis.shape[-2:]
    tokens = to_tokens(vis)
    next_vis, out_vis, text_out = pwam(tokens, hw_shape, text, mask)
    assert next_vis.shape == out_vis.shape == tokens.shape == (2, 5 * 7, 16)
    assert text_out is text
    fused = pwam.multimodal(tokens, text, mask)
    torch.testing.assert_close(out_vis, fused)
    gated = tokens + pwam.gate(fused) * fused
    torch.testing.assert_close(next_vis, gated)
    # the token layout is the map's row-major flattening, both ways
    assert to_map(out_vis, hw_shape).shape == vis.shape
    torch.testing.assert_close(to_tokens(to_map(next_vis, hw_shape)), next_vis)
    # whatever sits in padded token slots changes nothing
    noisy = text.clone()
    noisy[1, 3:] = 1e3 * torch.randn(3, 12)
    for a, b in zip(pwam(tokens, hw_shape, noisy, mask), (next_vis, out_vis)):
        torch.testing.assert_close(a, b)
    # but a real word does
    noisy[1, 0] += 1
    assert not torch.allclose(pwam(tokens, hw_shape, noisy, mask)[1][1], out_vis[1])


def test_pwam_last_stage_builds_no_gate():
    pwam = PWAM(16, 12, last_stage=True)
    assert pwam.gate is None and pwam.last_stage
    assert 'last_stage=True' in repr(pwam)
    assert 'last_stage=False' in repr(PWAM(16, 12))
    vis, text, mask = inputs()
    tokens = to_tokens(vis)
    next_vis, out_vis, text_out = pwam(tokens, vis.shape[-2:], text, mask)
    assert torch.equal(next_vis, tokens)
    assert out_vis.shape == tokens.shape and text_out is text
    torch.testing.assert_close(out_vis, pwam.multimodal(tokens, text, mask))
    assert sum(p.numel() for p in pwam.parameters()) == \
        sum(p.numel() for n, p in PWAM(16, 12).named_parameters() if not n.startswith('gate'))


def test_pwam_checks_widths():
    with pytest.raises(ValueError, match='PWAM built for 16'):
        vis, text, mask = inputs(channels=8)
        PWAM(16, 12)(to_tokens(vis), vis.shape[-2:], text, mask)
    with pytest.raises(ValueError, match='num_heads=3'):
        PixelWordAttention(16, 12, num_heads=3)
