"""Per-sample kernel weight and rotation angle of RMSIN's adaptive rotated convolution (after
Pu et al., ICCV 2023)."""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RotationRouting(nn.Module):
    """Predicts, from the convolution's own input, a weight and an angle per kernel and sample.

    With X (B, C, h, w)::

        f = mean_hw(ReLU(LN_C(dwconv3x3(X))))                  (B, C)
        α = sigmoid(W_α drop(f) + b_α)                          (B, n), in (0, 1)
        θ = softsign(W_θ drop'(f)) · max_angle · π / 180        (B, n), in (-max_angle°, max_angle°)

    LN_C is a LayerNorm over the channels of every pixel; the two dropouts are independent and
    act in training only. As in the published code the depthwise conv and both linear weights
    start from a truncated normal (std 0.02) while ``fc_alpha``'s bias keeps PyTorch's uniform
    default, so α starts near 0.5 and θ near 0.

    Args:
        channels (int): Input channels C.
        kernel_number (int): Kernels n of the bank. Defaults to 1.
        max_angle (float): Largest |θ| in degrees. Defaults to 40.
        dropout (float): Dropout on f before each linear. Defaults to 0.2.
    """

    def __init__(self,
                 channels: int,
                 kernel_number: int = 1,
                 max_angle: float = 40.0,
                 dropout: float = 0.2):
        super().__init__()
        self.kernel_number = kernel_number
        self.max_angle = max_angle
        self.dwconv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        # not called "norm": the recipe's weight-decay keys must not match the decoder
        self.ln = nn.LayerNorm(channels)
        self.alpha_drop = nn.Dropout(dropout)
        self.fc_alpha = nn.Linear(channels, kernel_number)
        self.theta_drop = nn.Dropout(dropout)
        self.fc_theta = nn.Linear(channels, kernel_number, bias=False)
        for weight in (self.dwconv.weight, self.fc_alpha.weight, self.fc_theta.weight):
            nn.init.trunc_normal_(weight, std=0.02)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Routes one batch.

        Args:
            x (Tensor): (B, C, h, w) input of the rotated convolution.

        Returns:
            tuple[Tensor, Tensor]: α and θ (radians), each (B, n).
        """
        feats = self.ln(self.dwconv(x).permute(0, 2, 3, 1))
        feats = F.relu(feats).mean(dim=(1, 2))
        alpha = torch.sigmoid(self.fc_alpha(self.alpha_drop(feats)))
        theta = F.softsign(self.fc_theta(self.theta_drop(feats)))
        return alpha, theta * (self.max_angle * math.pi / 180)

    def extra_repr(self) -> str:
        return f'kernel_number={self.kernel_number}, max_angle={self.max_angle}'
