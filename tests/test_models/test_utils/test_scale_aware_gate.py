import torch
import torch.nn.functional as F

from mmrrsis.models.utils import ScaleAwareGate


def test_scale_aware_gate_formula_on_non_square_maps():
    torch.manual_seed(0)
    gate = ScaleAwareGate(6, global_channels=4).eval()
    for module in gate.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    local, glob = torch.randn(2, 6, 8, 12), torch.randn(2, 4, 2, 3)
    out = gate(local, glob)

    def bn(module, x):
        return F.batch_norm(x, module.running_mean, module.running_var, module.weight,
                            module.bias, False, 0.0, module.eps)

    def conv_bn(seq, x):
        return bn(seq[1], seq[0](x))

    def up(x):
        return F.interpolate(x, size=(8, 12), mode='bilinear', align_corners=False)

    weight = up(torch.clamp(conv_bn(gate.global_gate, glob) + 3, 0, 6) / 6)
    expected = conv_bn(gate.local_proj, local) * weight + up(conv_bn(gate.global_proj, glob))
    assert out.shape == (2, 6, 8, 12)
    assert torch.allclose(out, expected, atol=1e-6)
