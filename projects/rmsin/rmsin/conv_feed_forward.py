"""The convolutional feed-forward layer of RMSIN's cross-scale interaction (CIM)."""
import torch.nn.functional as F
from torch import Tensor, nn


class ConvFeedForward(nn.Module):
    """``conv1x1(ReLU6(dwconv3x3(BN(conv1x1(BN(x))))))``: C -> hidden -> hidden -> C.

    The 3x3 convolution has C groups (hidden / C channels in and out per group), every
    convolution a bias; there is no activation after the first one.

    Args:
        channels (int): C.
        hidden_channels (int): The hidden width, a multiple of C.
    """

    def __init__(self, channels: int, hidden_channels: int):
        super().__init__()
        if hidden_channels % channels:
            raise ValueError(f'ConvFeedForward: hidden_channels={hidden_channels} must be a '
                             f'multiple of channels={channels}')
        self.in_bn = nn.BatchNorm2d(channels)
        self.expand = nn.Conv2d(channels, hidden_channels, 1)
        self.mid_bn = nn.BatchNorm2d(hidden_channels)
        self.dwconv = nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1, groups=channels)
        self.project = nn.Conv2d(hidden_channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, h, w) -> (B, C, h, w), without residual."""
        return self.project(F.relu6(self.dwconv(self.mid_bn(self.expand(self.in_bn(x))))))
