import pytest
import torch
import torch.nn.functional as F

from mmrrsis.models.utils import CrossAttentionLayer, MSDeformAttention, SDPAttention


def naive_attention(attn, query, key, value, key_mask=None):
    """softmax(QK^T / sqrt(d)) V per head, with the module's own projections."""
    batch, num_query, _ = query.shape
    heads = attn.num_heads

    def split(x):
        return x.view(batch, x.shape[1], heads, -1).transpose(1, 2)

    q, k, v = split(attn.q_proj(query)), split(attn.k_proj(key)), split(attn.v_proj(value))
    scores = q @ k.transpose(-1, -2) / q.shape[-1]**0.5
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask.bool()[:, None, None, :], float('-inf'))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, num_query, -1)
    return attn.out_proj(out)


@pytest.mark.parametrize('with_mask', [False, True])
def test_sdpa_attention_equals_naive_reference(with_mask):
    torch.manual_seed(0)
    attn = SDPAttention(16, num_heads=4, key_dims=12, value_dims=10)
    query, key, value = torch.randn(2, 5, 16), torch.randn(2, 7, 12), torch.randn(2, 7, 10)
    key_mask = torch.tensor([[1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]]) if with_mask \
        else None
    out = attn(query, key, value, key_mask=key_mask)
    assert out.shape == (2, 5, 16)
    assert torch.allclose(out, naive_attention(attn, query, key, value, key_mask), atol=1e-5)


def test_sdpa_attention_ignores_masked_keys():
    torch.manual_seed(0)
    attn = SDPAttention(16, num_heads=4)
    query, key = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    key_mask = torch.tensor([[1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0]])
    changed = key.clone()
    changed[0, 3:] = 50.0
    changed[1, 6] = -50.0
    assert torch.allclose(attn(query, key, key_mask=key_mask),
                          attn(query, changed, key_mask=key_mask), atol=1e-6)


def test_sdpa_attention_all_masked_sample_stays_finite():
    attn = SDPAttention(16, num_heads=4)
    out = attn(torch.randn(2, 3, 16), torch.randn(2, 4, 16),
               key_mask=torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0]]))
    assert torch.isfinite(out).all()


def test_sdpa_attention_builds_no_weight_matrix_in_python(monkeypatch):
    """The N x N weights would come from a Python softmax; SDPA's fused kernels have none."""

    def forbidden(*args, **kwargs):
        raise AssertionError('attention weights materialised with softmax')

    monkeypatch.setattr(torch, 'softmax', forbidden)
    monkeypatch.setattr(torch.Tensor, 'softmax', forbidden)
    monkeypatch.setattr(F, 'softmax', forbidden)
    attn = SDPAttention(16, num_heads=4)
    x = torch.randn(1, 300, 16)
    assert attn(x, x, key_mask=torch.ones(1, 300)).shape == (1, 300, 16)


def test_sdpa_attention_rejects_bad_head_count():
    with pytest.raises(ValueError, match='num_heads'):
        SDPAttention(10, num_heads=4)


def test_cross_attention_layer_shape_and_memory_mask():
    torch.manual_seed(0)
    layer = CrossAttentionLayer(16, num_heads=4, ffn_ratio=2)
    query, memory = torch.randn(2, 3, 16), torch.randn(2, 6, 16)
    mask = torch.tensor([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    out = layer(query, memory, memory_pos=torch.randn(1, 6, 16), memory_mask=mask)
    assert out.shape == (2, 3, 16)
    changed = memory.clone()
    changed[0, 2:] = 9.0
    pos = torch.zeros(1, 6, 16)
    assert torch.allclose(layer(query, memory, memory_pos=pos, memory_mask=mask),
                          layer(query, changed, memory_pos=pos, memory_mask=mask), atol=1e-6)


def test_deformable_attention_samples_at_the_reference_point():
    """Zero offsets, one level, one point: each query reads the value at its own pixel."""
    torch.manual_seed(0)
    attn = MSDeformAttention(16, num_heads=4, num_levels=1, num_points=1)
    torch.nn.init.zeros_(attn.sampling_offsets.bias)
    height, width = 3, 5
    value = torch.randn(2, height * width, 16)
    ys, xs = torch.meshgrid((torch.arange(height) + 0.5) / height,
                            (torch.arange(width) + 0.5) / width, indexing='ij')
    reference = torch.stack((xs, ys), -1).flatten(0, 1)[None]
    out = attn(torch.randn(2, height * width, 16), value, reference, [(height, width)])
    assert torch.allclose(out, attn.out_proj(attn.value_proj(value)), atol=1e-5)


def test_deformable_attention_multi_level_shape_and_level_check():
    attn = MSDeformAttention(16, num_heads=4, num_levels=2, num_points=3)
    shapes = [(4, 4), (2, 2)]
    value = torch.randn(2, 20, 16)
    out = attn(torch.randn(2, 20, 16), value, torch.rand(1, 20, 2), shapes)
    assert out.shape == (2, 20, 16)
    with pytest.raises(ValueError, match='levels'):
        attn(torch.randn(2, 16, 16), value[:, :16], torch.rand(1, 16, 2), [(4, 4)])


def test_deformable_bag_core_equals_mmcv_grid_sample_version():
    """Values and gradients equal mmcv's pure-PyTorch core, samples outside the map included."""
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch

    from mmrrsis.models.utils.attention import multi_scale_deformable_attn_bag
    torch.manual_seed(0)
    shapes = [(6, 5), (3, 3), (2, 1)]
    batch, heads, channels, levels, points, queries = 2, 3, 4, 3, 2, 7
    value = torch.randn(batch, sum(h * w for h, w in shapes), heads, channels,
                        dtype=torch.float64, requires_grad=True)
    # some samples fall outside [0, 1]: zero padding must match
    locations = (torch.rand(batch, queries, heads, levels, points, 2, dtype=torch.float64)
                 * 1.4 - 0.2).requires_grad_(True)
    weights = torch.rand(batch, queries, heads, levels, points, dtype=torch.float64)
    weights = (weights / weights.sum((-1, -2), keepdim=True)).requires_grad_(True)
    grad_out = torch.randn(batch, queries, heads * channels, dtype=torch.float64)
    results = []
    for core in (multi_scale_deformable_attn_bag, multi_scale_deformable_attn_pytorch):
        out = core(value, shapes, locations, weights)
        results.append([out] + list(torch.autograd.grad(out, (value, locations, weights),
                                                        grad_out)))
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_weighted_bag_sum_equals_embedding_bag(dtype):
    """Same output as F.embedding_bag; gradients equal up to the order of the sums."""
    from mmrrsis.models.utils.attention import WeightedBagSum
    gen = torch.Generator().manual_seed(0)
    indices = torch.randint(0, 9, (30, 6), generator=gen)  # rows repeat within and across bags
    weights = torch.rand(30, 6, generator=gen, dtype=dtype)
    table = torch.randn(9, 5, generator=gen, dtype=dtype)
    grad_out = torch.randn(30, 5, generator=gen, dtype=dtype)
    results = []
    for core in (WeightedBagSum.apply,
                 lambda t, i, w: F.embedding_bag(i, t, per_sample_weights=w, mode='sum')):
        inputs = (table.clone().requires_grad_(), weights.clone().requires_grad_())
        out = core(inputs[0], indices, inputs[1])
        results.append([out] + list(torch.autograd.grad(out, inputs, grad_out)))
    tol = dict(atol=1e-12, rtol=1e-10) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(results[0][0], results[1][0], atol=0, rtol=0)
    for got, expected in zip(results[0][1:], results[1][1:]):
        torch.testing.assert_close(got, expected, **tol)
    # only the weights need a gradient (the table is frozen)
    weight = weights.clone().requires_grad_()
    WeightedBagSum.apply(table, indices, weight).backward(grad_out)
    torch.testing.assert_close(weight.grad, results[1][2], **tol)


@pytest.mark.parametrize('path', ['few_keys', 'few_queries'])
@pytest.mark.parametrize('num_query,num_key', [(30, 5), (5, 30)])
def test_sdpa_attention_folded_paths_equal_sdpa(path, num_query, num_key):
    """Folding one side's projections into the other gives SDPA's values and gradients, and
    every parameter keeps a gradient (k_proj's bias a zero one, as with SDPA)."""
    torch.manual_seed(0)
    attn = SDPAttention(16, num_heads=4, key_dims=24, value_dims=12).double()
    inputs = [torch.randn(2, num_query, 16, dtype=torch.float64, requires_grad=True),
              torch.randn(2, num_key, 24, dtype=torch.float64, requires_grad=True),
              torch.randn(2, num_key, 12, dtype=torch.float64, requires_grad=True)]
    mask = torch.ones(2, num_key, dtype=torch.bool)
    mask[0, num_key // 2:] = False
    results = {}
    for name in ('sdpa', path):
        attn._cheapest = lambda *args, name=name: name
        out = attn(*inputs, key_mask=mask)
        grads = torch.autograd.grad(out.square().sum(), inputs + list(attn.parameters()))
        results[name] = (out, grads)
    torch.testing.assert_close(results[path][0], results['sdpa'][0], atol=1e-12, rtol=1e-10)
    for got, expected in zip(results[path][1], results['sdpa'][1]):
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-10)


def test_sdpa_attention_folds_the_long_side_at_btdnet_shapes():
    attn = SDPAttention(256, num_heads=8)
    assert attn._cheapest(5376, 20, 256, 256) == 'few_keys'  # MCI's L-V step: pixels -> text
    assert attn._cheapest(20, 5376, 256, 256) == 'few_queries'  # MCI's V-L step: text -> X
    assert attn._cheapest(300, 300, 256, 256) == 'sdpa'
