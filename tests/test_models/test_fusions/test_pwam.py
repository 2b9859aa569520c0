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
    next_vis, out_vis, text_out = pwam(vis, text, mask)
    assert next_vis.shape == out_vis.shape == vis.shape
    assert text_out is text
    tokens = vis.flatten(2).transpose(1, 2)
    fused = pwam.multimodal(tokens, text, mask)
    torch.testing.assert_close(out_vis, fused.transpose(1, 2).reshape_as(vis))
    gated = tokens + pwam.gate(fused) * fused
    torch.testing.assert_close(next_vis, gated.transpose(1, 2).reshape_as(vis))
    # whatever sits in padded token slots changes nothing
    noisy = text.clone()
    noisy[1, 3:] = 1e3 * torch.randn(3, 12)
    for a, b in zip(pwam(vis, noisy, mask), (next_vis, out_vis)):
        torch.testing.assert_close(a, b)
    # but a real word does
    noisy[1, 0] += 1
    assert not torch.allclose(pwam(vis, noisy, mask)[1][1], out_vis[1])


def test_pwam_without_gate_builds_no_gate():
    pwam = PWAM(16, 12, with_gate=False)
    assert pwam.gate is None
    vis, text, mask = inputs()
    next_vis, out_vis, _ = pwam(vis, text, mask)
    assert torch.equal(next_vis, vis)
    assert sum(p.numel() for p in pwam.parameters()) == \
        sum(p.numel() for n, p in PWAM(16, 12).named_parameters() if not n.startswith('gate'))


def test_pwam_checks_widths():
    with pytest.raises(ValueError, match='PWAM built for 16'):
        PWAM(16, 12)(*inputs(channels=8))
    with pytest.raises(ValueError, match='num_heads=3'):
        PixelWordAttention(16, 12, num_heads=3)
