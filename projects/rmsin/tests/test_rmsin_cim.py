"""RMSIN's cross-scale interaction neck on non-square maps, its attention written out by hand."""
import pytest
import torch
import torch.nn.functional as F

from mmrrsis.models.utils import ScaleAwareGate
from projects.rmsin.rmsin import CIM, CrossScaleAttention, IntraScaleFeedForward

CHANNELS = [8, 16, 24, 32]


def randomise_bn(module, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.5, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
            m.weight.data.normal_(1, 0.3, generator=gen)
            m.bias.data.normal_(0, 0.3, generator=gen)


def levels(grid=(2, 3), batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, c, grid[0] * 2**(3 - i), grid[1] * 2**(3 - i), generator=gen)
            for i, c in enumerate(CHANNELS)]


def attention_by_hand(csa, z):
    """The published CSA, element by element: its two buffer reinterpretations as index maps."""
    batch, dim, gh, gw = z.shape
    heads, key, value = csa.num_heads, csa.key_channels, csa.head_value_channels
    width = 2 * key + value
    z0 = csa.in_bn(z)
    tokens = torch.cat([z0.flatten(2), csa.down2(z0).flatten(2), csa.down3(z0).flatten(2)],
                       2).transpose(1, 2)
    num = tokens.shape[1]
    qkv = csa.qkv_bn(tokens.reshape(batch * num, dim) @ csa.qkv.weight.t()).view(batch, num, -1)
    out = torch.zeros(batch, heads, num, value)
    for h in range(heads):
        q = qkv[..., h * width:h * width + key]
        k = qkv[..., h * width + key:h * width + 2 * key]
        v = qkv[..., h * width + 2 * key:(h + 1) * width]
        out[:, h] = torch.softmax(q @ k.transpose(1, 2) / key**0.5, -1) @ v
    channels, pixels = heads * value, gh * gw
    mixed = torch.zeros(batch, channels, num)  # the (B, N, heads, dv) buffer read as (B, hd, N)
    local = torch.zeros(batch, channels, pixels)  # the (B, heads, G, dv) buffer as (B, hd, G)
    for c in range(channels):
        for n in range(num):
            flat = c * num + n
            t, h, d = flat // channels, (flat % channels) // value, flat % value
            mixed[:, c, n] = out[:, h, t, d]
        for p in range(pixels):
            flat = c * pixels + p
            h, t, d = flat // (pixels * value), (flat % (pixels * value)) // value, flat % value
            local[:, c, p] = qkv[:, t, h * width + 2 * key + d]
    local = csa.value_conv(F.hardswish(local.view(batch, channels, gh, gw))).flatten(2)
    x = (mixed @ csa.token_proj.weight.t() + csa.token_proj.bias + local).transpose(1, 2)
    x = (x @ csa.value_proj.weight.t() + csa.value_proj.bias).transpose(1, 2)
    return csa.out_conv(F.hardswish(csa.out_bn(x.reshape(batch, dim, gh, gw))))


def test_token_projection_follows_the_grid():
    for grid, shape in (((15, 15), (225, 314)), ((16, 16), (256, 356)), ((28, 28), (784, 1080)),
                        ((2, 3), (6, 6 + 1 * 2 + 1 * 1))):
        assert tuple(CrossScaleAttention(8, grid).token_proj.weight.shape) == shape


@pytest.mark.parametrize('grid', [(2, 3), (4, 4)])
def test_attention_equals_the_literal_layouts(grid):
    torch.manual_seed(0)
    csa = CrossScaleAttention(12, grid, num_heads=2, key_channels=3, value_ratio=2).eval()
    randomise_bn(csa)
    z = torch.randn(2, 12, *grid)
    torch.testing.assert_close(csa(z), attention_by_hand(csa, z), rtol=1e-5, atol=1e-5)


def test_intra_scale_ffn_is_a_residual_per_slice():
    iff = IntraScaleFeedForward([2, 4, 6])
    for ffn in iff.ffns:
        torch.nn.init.zeros_(ffn.project.weight)
        torch.nn.init.zeros_(ffn.project.bias)
    z = torch.randn(2, 12, 3, 5)
    assert torch.equal(iff(z), z)  # inside the block: z + iff(z) = 2 z


def test_cim_by_hand_on_a_non_square_input():
    torch.manual_seed(1)
    cim = CIM(CHANNELS, grid=(2, 3), num_heads=2, key_channels=4).eval()
    cim.init_weights()
    randomise_bn(cim)
    feats = levels()
    outs = cim(feats)
    assert [o.shape for o in outs] == [f.shape for f in feats]
    assert all(isinstance(g, ScaleAwareGate) for g in cim.gates)
    hidden = sum(CHANNELS) // 4
    assert cim.in_proj.out_channels == hidden == cim.blocks[0].ffn.in_bn.num_features
    z = cim.in_proj(torch.cat([F.adaptive_avg_pool2d(f, (2, 3)) for f in feats], 1))
    block = cim.blocks[0]
    z = z + block.csa1(z)
    z = z + block.iff(z)
    z = z + block.csa2(z)
    z = z + block.ffn(z)
    scales = cim.out_proj(cim.out_bn(z)).split(CHANNELS, 1)
    for out, gate, y, g in zip(outs, cim.gates, feats, scales):
        torch.testing.assert_close(out, gate(y, g))
    # every linear layer initialised as the published backbone does (std 0.02, bias 0)
    assert torch.equal(block.csa1.token_proj.bias, torch.zeros(6))
    assert abs(block.csa1.qkv.weight.std().item() - 0.02) < 0.005


def test_grid_mismatch_is_a_clear_error():
    cim = CIM(CHANNELS, grid=(2, 2), num_heads=2, key_channels=4).eval()
    with pytest.raises(ValueError, match=r'built for a 2x2 stage-4 grid got a 2x3 stage-4 map: '
                       r'set neck.grid=\(2, 3\)'):
        cim(levels(grid=(2, 3)))
    with pytest.raises(ValueError, match=r'\(8, 16, 24, 32\) channels got \(8, 16, 24, 16\)'):
        cim(levels()[:3] + [torch.randn(2, 16, 2, 2)])
