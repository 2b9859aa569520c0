"""FIAM: shapes, the residual update written out, the switches and the empty-object case."""
import pytest
import torch

from mmrrsis.models.fusions import PWAM
from projects.fianet.fianet import FIAM

C, CL, NT = 16, 12, 6


def _count(module):
    return sum(p.numel() for p in module.parameters())


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


def _inputs(batch=2, height=3, width=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    vis = torch.randn(batch, C, height, width, generator=g)
    words = [torch.randn(batch, NT, CL, generator=g) for _ in range(3)]
    full = torch.tensor([[1, 1, 1, 1, 1, 0]] * batch)
    obj = torch.tensor([[0, 0, 1, 1, 0, 0]] * batch)
    pos = torch.tensor([[0, 1, 0, 0, 1, 0]] * batch)
    passes = dict(object_mask=(words[1], obj), position_mask=(words[2], pos))
    return to_tokens(vis), words[0], full, passes


def _fiam(**kwargs):
    torch.manual_seed(0)
    fiam = FIAM(C, CL, **kwargs)
    fiam.init_weights()
    # gates are small at init; make every branch matter for the checks below
    with torch.no_grad():
        for p in fiam.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return fiam.eval()


def test_outputs_follow_the_residual_update():
    fiam = _fiam()
    tokens, text, mask, passes = _inputs()
    next_vis, out_vis, text_out = fiam(tokens, (3, 5), text, mask, text_passes=passes)
    assert next_vis.shape == out_vis.shape == tokens.shape == (2, 3 * 5, C)
    assert text_out is text
    # stage output: the ungated context branch (LAVT's PWAM features)
    f_c = fiam.context.multimodal(tokens, text, mask)
    torch.testing.assert_close(out_vis, f_c)
    g_c = fiam.context.gate(f_c) * f_c
    f_o = fiam.object_attn(tokens, *passes['object_mask'])
    g_o = fiam.object_gate(f_o) * f_o
    # the position map is pooled and convolved on the (B, C, 3, 5) map
    f_p = to_map(fiam.position_attn(tokens, *passes['position_mask']), (3, 5))
    s = torch.sigmoid(fiam.position_conv(torch.cat(
        [f_p.mean(1, keepdim=True), f_p.max(1, keepdim=True)[0]], 1)))
    w = torch.sigmoid(fiam.channel_mod[2](torch.relu(fiam.channel_mod[0](tokens.mean(1)))))
    expected = tokens + w[:, None] * (g_c + g_o * to_tokens(s))
    torch.testing.assert_close(next_vis, expected)
    assert (next_vis - tokens).abs().max() > 0.1
    # the passes are found under the names the module is given
    renamed = _fiam(object_pass='obj', position_pass='pos')
    assert renamed.takes_text_passes
    again = renamed(tokens, (3, 5), text, mask,
                    text_passes=dict(obj=passes['object_mask'], pos=passes['position_mask']))
    for a, b in zip(again, (next_vis, out_vis, text)):
        torch.testing.assert_close(a, b)


def test_switches_remove_their_parameters():
    attn = C * C + C + 2 * (CL * C + C) + C * C + C
    gate = 2 * C * C
    channel_mod = C * (C // 8) + C // 8 + (C // 8) * C + C
    pwam = _count(PWAM(C, CL, last_stage=True))
    counts = {
        (True, True, True, True): pwam + gate + 2 * attn + gate + 18 + channel_mod,
        (True, True, False, True): pwam + gate + attn + gate + channel_mod,
        (True, False, False, True): pwam + gate + channel_mod,
        (True, True, True, False): pwam + gate + 2 * attn + gate + 18,
        (False, False, False, False): pwam,
    }
    for (gate_on, obj, pos, cm), expected in counts.items():
        fiam = FIAM(C, CL, last_stage=not gate_on, with_object=obj, with_position=pos,
                    with_channel_mod=cm)
        assert _count(fiam) == expected, (gate_on, obj, pos, cm)
        assert f'last_stage={not gate_on}' in repr(fiam)
        assert hasattr(fiam, 'object_attn') == obj and hasattr(fiam, 'position_conv') == pos
    with pytest.raises(ValueError, match='with_position=True needs with_object=True'):
        FIAM(C, CL, with_object=False)
    with pytest.raises(ValueError, match='context branch only'):
        FIAM(C, CL, last_stage=True)


def test_context_only_is_lavt_pwam_and_last_stage_passes_vis_on():
    vis, text, mask, _ = _inputs()
    fiam = _fiam(with_object=False, with_position=False, with_channel_mod=False)
    pwam = PWAM(C, CL)
    pwam.load_state_dict({k[len('context.'):]: v for k, v in fiam.state_dict().items()})
    ours = fiam(vis, (3, 5), text, mask, text_passes={})
    theirs = pwam.eval()(vis, (3, 5), text, mask)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    last = _fiam(last_stage=True, with_object=False, with_position=False,
                 with_channel_mod=False)
    assert last.last_stage and last.context.last_stage and last.context.gate is None
    next_vis, out_vis, text_out = last(vis, (3, 5), text, mask, text_passes={})
    assert next_vis is vis and text_out is text
    assert out_vis.shape == vis.shape
    assert not torch.allclose(out_vis, vis)


def test_empty_object_mask_gives_exactly_zero():
    fiam = _fiam(with_channel_mod=False)
    tokens, text, mask, passes = _inputs()
    words, obj = passes['object_mask']
    obj = obj.clone()
    obj[1] = 0
    passes['object_mask'] = (words, obj)
    out = fiam.object_position(tokens, (3, 5), passes)
    assert out[0].abs().max() > 1e-3
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    # whatever the attention gives an empty mask (here NaN), the branch stays 0
    attn = fiam.object_attn.forward
    fiam.object_attn.forward = lambda v, t, m: torch.where(
        m.bool().any(1)[:, None, None], attn(v, t, m), float('nan'))
    next_vis, _, _ = fiam(tokens, (3, 5), text, mask, text_passes=passes)
    assert torch.isfinite(next_vis).all()
    f_c = fiam.context.multimodal(tokens, text, mask)
    torch.testing.assert_close(next_vis[1], (tokens + fiam.context.gate(f_c) * f_c)[1])


def test_missing_text_pass_names_the_pass():
    fiam = _fiam()
    vis, text, mask, passes = _inputs()
    del passes['position_mask']
    with pytest.raises(KeyError, match="'position_mask'.*text_passes with to_fusions=True"):
        fiam(vis, (3, 5), text, mask, text_passes=passes)
    with pytest.raises(ValueError, match='FIAM built for 16 visual'):
        fiam(vis[..., :8], (3, 5), text, mask, text_passes=passes)
