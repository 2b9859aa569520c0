"""The adaptive rotated convolution against a literal per-sample rotate-then-convolve."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from projects.rmsin.rmsin import AdaptiveRotatedConv2d, RotationRouting, rotation_tap_matrix

RING = [0, 1, 2, 5, 8, 7, 6, 3]


def rotate_kernel_literally(weight, theta):
    """Rotates (C_out, C_in, 3, 3) by θ (a float), tap by tap, with the written-out rule."""
    x, y = math.cos(theta), math.sin(theta)
    a, p, s = x - y, x * y, x + y
    w = weight.flatten(2)
    out = torch.empty_like(w)
    out[..., 4] = w[..., 4]
    for pos, tap in enumerate(RING):
        nxt, nxt2 = RING[(pos + 1) % 8], RING[(pos + 2) % 8]
        prv, prv2 = RING[(pos - 1) % 8], RING[(pos - 2) % 8]
        corner = tap in (0, 2, 6, 8)
        if theta >= 0 and corner:
            out[..., tap] = a * w[..., tap] + (1 - a) * w[..., nxt]
        elif theta >= 0:
            out[..., tap] = ((x - p) * w[..., tap] + p * w[..., nxt] + (y - p) * w[..., nxt2] +
                             (1 - s + p) * w[..., 4])
        elif corner:
            out[..., tap] = s * w[..., tap] + (1 - s) * w[..., prv]
        else:
            out[..., tap] = ((x + p) * w[..., tap] - p * w[..., prv] + (p - y) * w[..., prv2] +
                             (1 - a - p) * w[..., 4])
    return out.view_as(weight)


def literal_forward(conv, x, alpha, theta):
    """Sample by sample: W_b = Σ_k α_bk rot(W_k, θ_bk), then a plain 3x3 convolution."""
    outs = []
    for b in range(x.shape[0]):
        kernel = sum(
            alpha[b, k].item() * rotate_kernel_literally(conv.weight[k], theta[b, k].item())
            for k in range(conv.kernel_number))
        outs.append(F.conv2d(x[b:b + 1], kernel, padding=1))
    return torch.cat(outs)


class FixedRouting(nn.Module):
    def __init__(self, alpha, theta):
        super().__init__()
        self.alpha, self.theta = alpha, theta

    def forward(self, x):
        return self.alpha, self.theta


def test_tap_matrix_rule_and_identity():
    assert torch.equal(rotation_tap_matrix(torch.tensor(0.0)), torch.eye(9))
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    for deg in (-40.0, -17.0, -1e-3, 5.0, 33.0, 45.0):
        theta = math.radians(deg)
        rot = rotation_tap_matrix(torch.tensor(theta, dtype=torch.float64))
        mixed = torch.einsum('ts,ois->oit', rot, weight.flatten(2)).view_as(weight)
        torch.testing.assert_close(mixed, rotate_kernel_literally(weight, theta))
        # every rotated tap is an affine mix of the taps: the rows sum to one
        torch.testing.assert_close(rot.sum(1), torch.ones(9, dtype=torch.float64))
    # at 45° each corner takes its clockwise neighbour's weight exactly
    rot = rotation_tap_matrix(torch.tensor(math.pi / 4, dtype=torch.float64))
    assert [int(rot[k].argmax()) for k in (0, 2, 8, 6)] == [1, 5, 7, 3]


@pytest.mark.parametrize('kernel_number', [1, 3])
def test_equals_literal_rotate_then_convolve(kernel_number):
    torch.manual_seed(0)
    conv = AdaptiveRotatedConv2d(4, 5, kernel_number=kernel_number).eval()
    x = torch.randn(3, 4, 7, 9)
    alpha = torch.rand(3, kernel_number) + 0.2
    theta = torch.empty(3, kernel_number).uniform_(-0.7, 0.7)
    theta[0, 0], theta[1, 0] = -0.5, 0.6  # both signs present
    conv.routing = FixedRouting(alpha, theta)
    torch.testing.assert_close(conv(x), literal_forward(conv, x, alpha, theta),
                               rtol=1e-5, atol=1e-5)


def test_with_its_own_routing():
    torch.manual_seed(1)
    conv = AdaptiveRotatedConv2d(6, 6).eval()
    with torch.no_grad():
        conv.routing.fc_theta.weight.normal_(0, 2.0)  # angles far from 0
    x = torch.randn(4, 6, 8, 5)
    alpha, theta = conv.routing(x)
    assert alpha.shape == theta.shape == (4, 1)
    assert ((alpha > 0) & (alpha < 1)).all() and (theta.abs() < math.radians(40)).all()
    assert theta.abs().max() > math.radians(10)
    torch.testing.assert_close(conv(x), literal_forward(conv, x, alpha, theta),
                               rtol=1e-5, atol=1e-5)


def test_zero_angle_unit_weight_is_a_plain_conv():
    torch.manual_seed(2)
    conv = AdaptiveRotatedConv2d(4, 3).eval()
    conv.routing = FixedRouting(torch.ones(2, 1), torch.zeros(2, 1))
    x = torch.randn(2, 4, 6, 10)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight[0], padding=1),
                               rtol=1e-6, atol=1e-6)


def test_routing_by_hand_and_dropout_only_in_training():
    torch.manual_seed(3)
    routing = RotationRouting(8, kernel_number=2, max_angle=40.0, dropout=0.5).eval()
    x = torch.randn(2, 8, 5, 6)
    feats = routing.dwconv(x).permute(0, 2, 3, 1)
    feats = F.layer_norm(feats, (8, ), routing.ln.weight, routing.ln.bias).relu().mean((1, 2))
    alpha, theta = routing(x)
    torch.testing.assert_close(alpha, torch.sigmoid(routing.fc_alpha(feats)))
    torch.testing.assert_close(theta, F.softsign(feats @ routing.fc_theta.weight.t()) *
                               math.radians(40))
    routing.train()
    assert not torch.allclose(routing(x)[0], alpha)
    assert routing.fc_theta.bias is None and routing.fc_alpha.bias is not None
    # the published init: std-0.02 weights (bias of fc_alpha PyTorch's), so α ≈ 0.5, θ ≈ 0
    wide = RotationRouting(256, kernel_number=4)
    for weight in (wide.dwconv.weight, wide.fc_alpha.weight, wide.fc_theta.weight):
        assert abs(weight.std().item() - 0.02) < 0.003
    assert wide.fc_alpha.bias.abs().max() <= 256**-0.5


def test_init_and_gradients():
    torch.manual_seed(4)
    conv = AdaptiveRotatedConv2d(64, 64)
    # kaiming normal, fan_out = n * C_in * 9: the std of a plain 64 -> 64 3x3 conv
    assert abs(conv.weight.std().item() - math.sqrt(2 / (64 * 9))) < 0.005
    conv.train()
    conv(torch.randn(2, 64, 4, 4)).square().mean().backward()
    for param in (conv.weight, conv.routing.fc_theta.weight, conv.routing.fc_alpha.bias,
                  conv.routing.dwconv.weight, conv.routing.ln.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='8 input channels got 5'):
        AdaptiveRotatedConv2d(8, 8)(torch.randn(1, 5, 4, 4))
