"""TMEM: shapes on non-square inputs, the blocks written out, text dependence."""
import pytest
import torch
import torch.nn.functional as F

from projects.fianet.fianet import TMEM

CHANNELS = (8, 16, 32, 64)
CL, NT = 12, 5


def _inputs(batch=2, height=4, width=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(batch, c, height * 8 // 2**i, width * 8 // 2**i, generator=g)
             for i, c in enumerate(CHANNELS)]
    text = dict(feats=torch.randn(batch, NT, CL, generator=g),
                mask=torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    return feats, text


def _tmem(num_blocks=2):
    torch.manual_seed(0)
    tmem = TMEM(CHANNELS, text_channels=CL, num_blocks=num_blocks)
    tmem.init_weights()
    with torch.no_grad():
        tmem.out_bn.running_mean.uniform_(-1, 1)
        tmem.out_bn.running_var.uniform_(0.5, 2)
    return tmem.eval()


def test_shapes_and_the_computation_on_non_square_inputs():
    tmem = _tmem()
    feats, text = _inputs()
    assert [tuple(f.shape[-2:]) for f in feats] == [(32, 48), (16, 24), (8, 12), (4, 6)]
    outs = tmem(feats, text)
    assert [tuple(o.shape) for o in outs] == [tuple(f.shape) for f in feats]
    # written out: pool to the coarsest size, squeeze to sum/4 = 30, blocks, BN, expand, gates
    x = tmem.in_proj(torch.cat([F.adaptive_avg_pool2d(f, (4, 6)) for f in feats], 1))
    assert x.shape == (2, 30, 4, 6)
    tokens = x.flatten(2).transpose(1, 2)
    for block in tmem.blocks:
        tokens = tokens + block.attn(block.norm1(tokens), text['feats'], text['mask'])
        tokens = tokens + block.ffn(block.norm2(tokens))
    g = tmem.out_proj(tmem.out_bn(tokens.transpose(1, 2).reshape(2, 30, 4, 6)))
    g = g.split(CHANNELS, 1)
    for i, (out, feat) in enumerate(zip(outs, feats)):
        gate = tmem.gates[i]
        up = lambda t: F.interpolate(t, size=feat.shape[-2:], mode='bilinear',  # noqa: E731
                                     align_corners=False)
        expected = gate.local_proj(feat) * up(gate.global_gate(g[i])) + up(gate.global_proj(g[i]))
        torch.testing.assert_close(out, expected)


def test_blocks_and_text_dependence():
    one, three = TMEM(CHANNELS, CL, num_blocks=1), TMEM(CHANNELS, CL, num_blocks=3)
    block = sum(p.numel() for p in one.blocks[0].parameters())
    hidden = sum(CHANNELS) // 4
    assert block == 2 * 2 * hidden + (hidden * hidden + hidden) * 2 + (CL * hidden + hidden) * 2 \
        + hidden * 2 * hidden + 2 * hidden + 2 * hidden * hidden + hidden
    assert sum(p.numel() for p in three.parameters()) - \
        sum(p.numel() for p in one.parameters()) == 2 * block
    tmem = _tmem()
    feats, text = _inputs()
    base = tmem(feats, text)
    # padded words are ignored, real ones are read
    padded = dict(text, feats=text['feats'].clone())
    padded['feats'][0, 3:] = 100
    for a, b in zip(base, tmem(feats, padded)):
        torch.testing.assert_close(a, b)
    changed = dict(text, feats=text['feats'].clone())
    changed['feats'][0, 1] += 1
    moved = tmem(feats, changed)
    assert (moved[0][0] - base[0][0]).abs().max() > 1e-4
    torch.testing.assert_close(moved[0][1], base[0][1])


def test_wrong_channels_are_refused():
    with pytest.raises(ValueError, match='divisible by 4'):
        TMEM((8, 16, 33, 64))
    feats, text = _inputs()
    with pytest.raises(ValueError, match=r'built for inputs of \(8, 16, 32, 64\) channels'):
        _tmem()(feats[:3] + [feats[3][:, :32]], text)


def test_state_dicts_of_the_former_names_load():
    from mmengine.runner.checkpoint import load_state_dict
    tmem = _tmem()
    feats, text = _inputs()
    expected = tmem(feats, text)
    renames = (('in_proj.', 'down_proj.'), ('out_bn.', 'bn.'), ('out_proj.', 'up_proj.'))
    old = {}
    for key, value in tmem.state_dict().items():
        for new, former in renames:
            if key.startswith(new):
                key = former + key[len(new):]
        old[key] = value.clone()
    assert 'bn.running_var' in old and 'down_proj.weight' in old
    for load in (lambda m, sd: m.load_state_dict(sd, strict=True),
                 lambda m, sd: load_state_dict(m, sd, strict=True)):
        fresh = TMEM(CHANNELS, text_channels=CL, num_blocks=2).eval()
        load(fresh, dict(old))
        assert torch.equal(fresh(feats, text)[0], expected[0])
