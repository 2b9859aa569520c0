import math

import pytest
import torch

from mmrrsis.models.utils import sine_positional_encoding


def test_sine_positional_encoding_values():
    pos = sine_positional_encoding(2, 3, 8)
    assert pos.shape == (8, 2, 3)
    # 8 channels: 4 for y then 4 for x, each [sin(c), cos(c), sin(c/100), cos(c/100)] with
    # the 1-based coordinate normalised to (0, 2*pi].
    y = 2 / (2 + 1e-6) * 2 * math.pi
    x = 1 / (3 + 1e-6) * 2 * math.pi
    expected = torch.tensor([math.sin(y), math.cos(y), math.sin(y / 100), math.cos(y / 100),
                             math.sin(x), math.cos(x), math.sin(x / 100), math.cos(x / 100)])
    assert torch.allclose(pos[:, 1, 0], expected, atol=1e-6)


def test_sine_positional_encoding_distinguishes_pixels():
    pos = sine_positional_encoding(4, 4, 16).flatten(1).t()
    assert torch.unique(pos, dim=0).shape[0] == 16


def test_sine_positional_encoding_channel_check():
    with pytest.raises(ValueError, match='divisible by 4'):
        sine_positional_encoding(2, 2, 6)
