import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmrrsis.models.utils import CrossScaleMixer

CHANNELS = (4, 8, 12, 16)


def levels(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, c, 2 * 2**(3 - i), 3 * 2**(3 - i), generator=gen)
            for i, c in enumerate(CHANNELS)]


class AddBias(nn.Module):
    """A block that adds a learned per-channel bias times the scalar it is handed."""

    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(1, channels, 1, 1))

    def forward(self, x, scale):
        return x + scale * self.bias


def test_shapes_blocks_and_arguments():
    widths = []

    def build_block(channels):
        widths.append(channels)
        return AddBias(channels)

    mixer = CrossScaleMixer(CHANNELS, build_block, num_blocks=2)
    assert widths == [10, 10]  # D = (4 + 8 + 12 + 16) / 4
    outs = mixer(levels(), 0.5)
    assert [tuple(o.shape) for o in outs] == [tuple(y.shape) for y in levels()]
    with pytest.raises(ValueError, match=r'built for inputs of \(4, 8, 12, 16\) channels got'):
        mixer(levels()[:3] + [torch.zeros(2, 8, 2, 3)], 0.5)
    with pytest.raises(ValueError, match='divisible by 4'):
        CrossScaleMixer((4, 6), AddBias)


def test_written_out_and_every_scale_sees_the_others():
    torch.manual_seed(0)
    mixer = CrossScaleMixer(CHANNELS, AddBias, num_blocks=1).eval()
    with torch.no_grad():
        mixer.out_bn.running_mean.uniform_(-1, 1)
        mixer.out_bn.running_var.uniform_(0.5, 2)
    ys = levels()
    outs = mixer(ys, 2.0)
    pooled = torch.cat([F.adaptive_avg_pool2d(y, (2, 3)) for y in ys], 1)
    x = mixer.in_proj(pooled) + 2.0 * mixer.blocks[0].bias
    gs = mixer.out_proj(mixer.out_bn(x)).split(CHANNELS, 1)
    for out, gate, y, g in zip(outs, mixer.gates, ys, gs):
        assert torch.allclose(out, gate(y, g), atol=1e-6)
    # the coarsest output moves when only the finest input does: the scales interact
    changed = [ys[0] + 1.0] + ys[1:]
    assert not torch.allclose(mixer(changed, 2.0)[-1], outs[-1])
