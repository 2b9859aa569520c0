"""The re-parameterisable-style conv step of RMSIN's spatial scale branch (IIM)."""
from torch import Tensor, nn


class RepConvStep(nn.Module):
    """``P(M) + Q(M) + BN(M)`` on a one-channel map, the three branches of a RepVGG-style block.

    P = conv1x1 -> BN -> conv3x3 (padding 1) -> BN, Q = conv1x1 -> BN, the identity branch a
    plain BatchNorm; bias-free convolutions, every weight separate (the branches are never
    fused into one convolution).
    """

    def __init__(self):
        super().__init__()
        self.kxk = nn.Sequential(
            nn.Conv2d(1, 1, 1, bias=False), nn.BatchNorm2d(1),
            nn.Conv2d(1, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1))
        self.pointwise = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.BatchNorm2d(1))
        self.identity = nn.BatchNorm2d(1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 1, h, w) -> (B, 1, h, w), before the activation."""
        return self.pointwise(x) + self.kxk(x) + self.identity(x)
