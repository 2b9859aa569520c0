import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.models.fusions import BSC
from mmrrsis.models.fusions.bsc import TokenInstanceNorm
from mmrrsis.registry import MODELS

C, C_L, D = 16, 24, 8
# read by the tiny_btdnet_cfg fixture (its vocab)
EXPRESSIONS = ['the red vehicle at the top left', 'the blue vehicle at the bottom right']


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


def inputs(batch=2, height=6, width=7, tokens=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    vis = torch.randn(batch, C, height, width, generator=gen)
    text = torch.randn(batch, tokens, C_L, generator=gen)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[0, 3:] = 0  # sample 0: 3 real tokens, 2 padded
    return vis, text, mask


def randomised(seed=1, **kwargs):
    """A BSC whose every parameter, gates included, is random and non-zero."""
    torch.manual_seed(seed)
    bsc = BSC(C, C_L, embed_dims=D, **kwargs)
    for param in bsc.parameters():
        nn.init.normal_(param, std=0.3)
    return bsc


def literal_instance_norm(x, weight, bias, eps=1e-5):
    """Instance norm over the last dim of (N, C, L) written out (also for L = 1)."""
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).square().mean(-1, keepdim=True)
    return (x - mean) / (var + eps).sqrt() * weight[:, None] + bias[:, None]


def reference(bsc, vis, text, mask):
    """BSC written literally: F.unfold / token-window gather followed by linear maps, and
    Eq. 3's two weightings of the per-window affinities, w^v for A_v and w^l for A_l."""
    batch, channels, height, width = vis.shape
    valid = mask.bool()
    text_real = text * mask[..., None]
    affinity = {direction: 0 for direction in bsc.directions}
    for k, r in enumerate(bsc.window_sizes):
        patches = F.unfold(vis, r, padding=r // 2).transpose(1, 2)  # (B, hw, C*r*r)
        conv = bsc.vis_windows[k]
        phi = F.linear(patches, conv.weight.reshape(D, -1), conv.bias)
        padded = F.pad(text_real, (0, 0, r // 2, r // 2))
        windows = torch.stack([padded[:, j:j + text.shape[1]] for j in range(r)], -1)
        conv1d = bsc.text_windows[k]
        psi = F.linear(windows.flatten(2), conv1d.weight.reshape(D, -1), conv1d.bias)
        for direction in bsc.directions:
            weights = getattr(bsc, f'window_logits_{direction}').softmax(0)
            affinity[direction] = (affinity[direction]
                                   + weights[k] * phi @ psi.transpose(1, 2) / D**0.5)
    vis_out, text_out = vis, text
    if 'l2v' in bsc.directions:
        attn = affinity['l2v'].masked_fill(~valid[:, None], float('-inf')).softmax(-1)
        vis_hat = (attn @ bsc.proj_l(text_real)).transpose(1, 2).reshape(vis.shape)
        conv, norm = bsc.gate_v[0], bsc.gate_v[1]
        pre = F.conv2d(torch.cat([vis, vis_hat], 1), conv.weight, conv.bias)
        gate = torch.tanh(literal_instance_norm(pre.flatten(2), norm.weight,
                                                norm.bias).view(vis.shape))
        vis_out = vis + gate * vis_hat
    if 'v2l' in bsc.directions:
        proj = bsc.proj_v(vis.flatten(2).transpose(1, 2))  # (B, hw, C_l)
        text_out = text.clone()
        for b in range(batch):
            real = valid[b].nonzero()[:, 0]
            attn = affinity['v2l'][b].T[real].softmax(-1)  # real tokens over pixels
            text_hat = attn @ proj[b]
            pre = bsc.gate_l_fc(torch.cat([text[b, real], text_hat], -1))
            norm = bsc.gate_l_norm
            gate = torch.tanh(literal_instance_norm(pre.T[None], norm.weight, norm.bias)[0].T)
            text_out[b, real] = text[b, real] + gate * text_hat
    return vis_out, text_out


def assert_gradients_equal_reference(bsc, height=6, width=7):
    """float64: in float32 both sides carry ~1e-5 of summation-order rounding on O(10) grads"""
    bsc = bsc.double()
    grads = []
    for forward in (bsc.correlate, lambda *args: reference(bsc, *args)):
        vis, text, mask = inputs(height=height, width=width)
        vis = vis.double().requires_grad_(True)
        text = text.double().requires_grad_(True)
        bsc.zero_grad()
        vis_out, text_out = forward(vis, text, mask)
        (vis_out.sin().sum() + text_out.sin().sum()).backward()
        grads.append([vis.grad, text.grad] + [p.grad.clone() for p in bsc.parameters()])
    for got, expected in zip(*grads):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-8)


def test_shapes_and_registry():
    bsc = MODELS.build(dict(type='BSC', vis_channels=C, text_channels=C_L, embed_dims=D))
    vis, text, mask = inputs()
    next_vis, out_vis, text_out = bsc(to_tokens(vis), (6, 7), text, mask)
    assert next_vis.shape == out_vis.shape == (2, 6 * 7, C)
    assert text_out.shape == (2, 5, C_L)
    vis_out, text_out = bsc.correlate(vis, text, mask)
    assert vis_out.shape == (2, C, 6, 7) and text_out.shape == (2, 5, C_L)


def test_zero_init_gates_leave_streams_unchanged():
    bsc = BSC(C, C_L, embed_dims=D)
    vis, text, mask = inputs()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    assert torch.equal(vis_out, vis)
    assert torch.equal(text_out, text)
    next_vis, out_vis, text_out = bsc(to_tokens(vis), (6, 7), text, mask)
    assert torch.equal(next_vis, to_tokens(vis)) and torch.equal(out_vis, to_tokens(vis))
    assert torch.equal(text_out, text)


@pytest.mark.parametrize('height, width', [(6, 7), (1, 2), (2, 1), (1, 1)])
@pytest.mark.parametrize('directions', [('l2v', 'v2l'), ('l2v', ), ('v2l', )])
def test_forward_equals_correlate_through_the_token_layout(height, width, directions):
    """forward on (B, h*w, C) row-major tokens is correlate on the (B, C, h, w) map; its
    next-stage input and stage output are the same V'."""
    bsc = randomised(directions=directions)
    vis, text, mask = inputs(height=height, width=width)
    vis_map, text_map = bsc.correlate(vis, text, mask)
    next_vis, out_vis, text_out = bsc(to_tokens(vis), (height, width), text, mask)
    assert next_vis.shape == out_vis.shape == (2, height * width, C)
    assert torch.equal(next_vis, out_vis)
    assert torch.equal(next_vis, to_tokens(vis_map))
    assert torch.equal(to_map(out_vis, (height, width)), vis_map)
    assert torch.equal(text_out, text_map)
    if 'l2v' in directions:
        assert not torch.allclose(vis_map, vis)


@pytest.mark.parametrize('window_sizes', [(1, 3, 5), (1, ), (3, 7)])
@pytest.mark.parametrize('directions', [('l2v', 'v2l'), ('l2v', ), ('v2l', )])
def test_equals_unfold_reference(window_sizes, directions):
    bsc = randomised(window_sizes=window_sizes, directions=directions)
    vis, text, mask = inputs()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    # float64, like the gradients: in float32 the two summation orders differ by ~1e-5 on
    # O(0.1) text values (('v2l',), windows (3, 7): 1.1e-5 > atol=1e-5 on one element)
    bsc64 = copy.deepcopy(bsc).double()
    args64 = (vis.double(), text.double(), mask)
    torch.testing.assert_close(bsc64.correlate(*args64), reference(bsc64, *args64),
                               atol=1e-10, rtol=1e-8)
    ref_vis, ref_text = reference(bsc, vis, text, mask)
    torch.testing.assert_close(vis_out, ref_vis, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(text_out, ref_text, atol=1e-5, rtol=1e-4)
    if 'l2v' in directions:
        assert not torch.allclose(vis_out, vis)
    if 'v2l' in directions:
        assert not torch.allclose(text_out, text)


def test_gradients_equal_unfold_reference():
    assert_gradients_equal_reference(randomised())


@pytest.mark.parametrize('height, width', [(1, 2), (1, 1), (2, 1)])
@pytest.mark.parametrize('window_sizes', [(1, 3, 5), (7, )])
def test_maps_smaller_than_the_window_equal_unfold_reference(height, width, window_sizes):
    # kernel taps reaching past the map (offset >= side) only meet the zero padding
    bsc = randomised(window_sizes=window_sizes)
    vis, text, mask = inputs(height=height, width=width)
    vis_out, text_out = bsc.correlate(vis, text, mask)
    ref_vis, ref_text = reference(bsc, vis, text, mask)
    assert vis_out.shape == (2, C, height, width)
    torch.testing.assert_close(vis_out, ref_vis, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(text_out, ref_text, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(vis_out, vis) and not torch.allclose(text_out, text)
    assert_gradients_equal_reference(bsc, height, width)


def test_each_direction_has_its_own_window_weights():
    bsc = randomised()
    assert {name for name, _ in bsc.named_parameters() if 'window_logits' in name} == {
        'window_logits_l2v', 'window_logits_v2l'}
    vis, text, mask = inputs()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    shift = torch.tensor([2.0, -1.0, 0.5])
    logits_v2l = bsc.window_logits_v2l.detach().clone()
    with torch.no_grad():
        bsc.window_logits_v2l.add_(shift)
    vis_v2l, text_v2l = bsc.correlate(vis, text, mask)
    assert torch.equal(vis_v2l, vis_out)  # A_v does not use w^l
    assert not torch.allclose(text_v2l, text_out, atol=1e-4)
    with torch.no_grad():
        bsc.window_logits_v2l.copy_(logits_v2l)
        bsc.window_logits_l2v.add_(shift)
    vis_l2v, text_l2v = bsc.correlate(vis, text, mask)
    assert torch.equal(text_l2v, text_out)  # A_l does not use w^v
    assert not torch.allclose(vis_l2v, vis_out, atol=1e-4)
    for directions in (('l2v', ), ('v2l', )):
        single = BSC(C, C_L, embed_dims=D, directions=directions)
        assert [name for name, _ in single.named_parameters() if 'window_logits' in name] == [
            f'window_logits_{directions[0]}']


def test_window_weights_start_uniform():
    bsc = BSC(C, C_L, embed_dims=D)
    for direction in ('l2v', 'v2l'):
        torch.testing.assert_close(bsc.window_weights(direction), torch.full((3, ), 1 / 3))


@pytest.mark.parametrize('directions', [('l2v', 'v2l'), ('l2v', ), ('v2l', )])
def test_loads_state_dict_with_shared_window_logits(directions):
    """A state dict of the former single ``window_logits`` seeds every direction's weights,
    under a parent module's prefix too."""
    source = randomised(directions=directions)
    old = nn.ModuleList([source]).state_dict()
    for direction in directions:
        del old[f'0.window_logits_{direction}']
    shared = torch.tensor([0.3, -0.2, 1.0])
    old['0.window_logits'] = shared
    target = nn.ModuleList([BSC(C, C_L, embed_dims=D, directions=directions)])
    target.load_state_dict(old)  # strict: no missing, no unexpected keys
    for direction in directions:
        assert torch.equal(getattr(target[0], f'window_logits_{direction}'), shared)
    for name, param in source.named_parameters():
        if 'window_logits' not in name:
            assert torch.equal(target[0].get_parameter(name), param), name


def test_tiny_btdnet_at_32x64_input(tiny_btdnet_cfg):
    """A 32 x 64 image gives stage maps down to 1 x 2 (stride 32): train step and predict."""
    cfg = copy.deepcopy(tiny_btdnet_cfg)
    cfg.data_preprocessor.size = (32, 64)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    seen = []
    for module in model.modules():
        if isinstance(module, BSC):
            module.register_forward_hook(
                # args: (vis tokens (B, h*w, C), hw_shape, text, text_mask)
                lambda mod, args, out: seen.append(
                    (tuple(args[1]), args[0].shape[1], out[0].shape[1])))
    masker = KeyPhraseMasker(backend='lexicon')
    samples = []
    for expression in EXPRESSIONS:
        sample = SegDataSample(metainfo=dict(
            expression=expression,
            key_phrase_spans=masker(dict(expression=expression))['key_phrase_spans'],
            img_shape=(32, 64), ori_shape=(32, 64), pad_shape=(32, 64)))
        mask = torch.zeros(1, 32, 64, dtype=torch.long)
        mask[:, 4:12, 8:24] = 1
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    image = torch.randint(0, 255, (3, 32, 64), dtype=torch.uint8)
    batch = dict(inputs=[image.clone() for _ in EXPRESSIONS], data_samples=samples)

    data = model.data_preprocessor(copy.deepcopy(batch), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert [hw for hw, _, _ in seen] == [(8, 16), (4, 8), (2, 4), (1, 2)]
    assert all(n_in == n_out == h * w for (h, w), n_in, n_out in seen)
    assert all(torch.isfinite(value) for value in losses.values())
    sum(value for key, value in losses.items() if 'loss' in key).backward()
    last = model.backbone.fusions[-1]
    assert all(torch.isfinite(param.grad).all() for param in last.parameters())
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), training=False)
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].pred_sem_seg.data.shape == (1, 32, 64)


def test_padded_tokens_have_no_effect():
    bsc = randomised()
    vis, text, mask = inputs()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    changed = text.clone()
    changed[0, 3:] = 100 * torch.randn(2, C_L)
    vis_out2, text_out2 = bsc.correlate(vis, changed, mask)
    assert torch.equal(vis_out2, vis_out)
    assert torch.equal(text_out2[0, :3], text_out[0, :3])
    assert torch.equal(text_out2[1], text_out[1])
    # padded tokens are passed through untouched
    assert torch.equal(text_out2[0, 3:], changed[0, 3:])


def test_l2v_only_leaves_text_unchanged():
    bsc = randomised(directions=('l2v', ))
    assert not hasattr(bsc, 'proj_v') and not hasattr(bsc, 'gate_l_fc')
    assert not hasattr(bsc, 'window_logits_v2l')
    vis, text, mask = inputs()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    assert text_out is text
    assert not torch.allclose(vis_out, vis)


def test_gradient_reaches_the_gates():
    vis, text, mask = inputs()
    vis.requires_grad_(True)
    # at init the gates are closed, yet their norms' affine parameters learn
    bsc = BSC(C, C_L, embed_dims=D)
    vis_out, text_out = bsc.correlate(vis, text, mask)
    (vis_out.square().sum() + text_out.square().sum()).backward()
    for param in (bsc.gate_v[1].weight, bsc.gate_v[1].bias, bsc.gate_l_norm.weight,
                  bsc.gate_l_norm.bias):
        assert param.grad is not None and param.grad.abs().sum() > 0
    # once open, every parameter gets a gradient
    bsc = randomised()
    vis_out, text_out = bsc.correlate(vis, text, mask)
    (vis_out.square().sum() + text_out.square().sum()).backward()
    for name, param in bsc.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_token_instance_norm_equals_instance_norm1d_without_padding():
    norm = TokenInstanceNorm(C_L)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = torch.randn(2, 5, C_L)
    expected = F.instance_norm(x.transpose(1, 2), weight=norm.weight, bias=norm.bias)
    torch.testing.assert_close(norm(x, torch.ones(2, 5)), expected.transpose(1, 2))


def test_autocast_keeps_softmax_finite():
    bsc = randomised()
    vis, text, mask = inputs()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        vis_out, text_out = bsc.correlate(vis, text, mask)
    assert torch.isfinite(vis_out).all() and torch.isfinite(text_out).all()


@pytest.mark.parametrize('kwargs, match', [
    (dict(window_sizes=(1, 4)), 'odd'),
    (dict(window_sizes=()), 'odd'),
    (dict(window_sizes=(3, 3)), 'repeat'),
    (dict(directions=('l2v', 'sideways')), 'directions'),
    (dict(directions=()), 'directions'),
])
def test_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BSC(C, C_L, embed_dims=D, **kwargs)
