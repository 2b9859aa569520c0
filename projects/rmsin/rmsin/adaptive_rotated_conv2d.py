"""Adaptive rotated 3x3 convolution of RMSIN's decoder (after Pu et al., ICCV 2023), in
plain PyTorch."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .rotation_routing import RotationRouting

# The eight outer taps of a row-major 3x3 kernel in clockwise order; tap 4 is the centre.
RING = (0, 1, 2, 5, 8, 7, 6, 3)
CENTRE = 4


def _rotation_terms(theta: Tensor) -> Tensor:
    """The coefficients of the tap rule for θ >= 0 and θ < 0: (..., 2, 7)."""
    x, y = torch.cos(theta), torch.sin(theta)
    a, p, s, one = x - y, x * y, x + y, torch.ones_like(theta)
    # per sign: corner self, corner neighbour, edge self, edge neighbour, edge second
    # neighbour, edge centre, centre -- the neighbours run clockwise for θ >= 0, anticlockwise
    # for θ < 0
    positive = torch.stack([a, 1 - a, x - p, p, y - p, 1 - s + p, one], dim=-1)
    negative = torch.stack([s, 1 - s, x + p, -p, p - y, 1 - a - p, one], dim=-1)
    return torch.stack([positive, negative], dim=-2)


def _rotation_basis() -> Tensor:
    """(2, 7, 9, 9) 0/1 matrices placing each coefficient of ``_rotation_terms``."""
    basis = torch.zeros(2, 7, 9, 9)
    for sign, step in ((0, 1), (1, -1)):
        basis[sign, 6, CENTRE, CENTRE] = 1
        for pos, tap in enumerate(RING):
            near = RING[(pos + step) % 8]
            far = RING[(pos + 2 * step) % 8]
            if pos % 2 == 0:  # corners sit at even ring positions
                basis[sign, 0, tap, tap] = 1
                basis[sign, 1, tap, near] = 1
            else:
                basis[sign, 2, tap, tap] = 1
                basis[sign, 3, tap, near] = 1
                basis[sign, 4, tap, far] = 1
                basis[sign, 5, tap, CENTRE] = 1
    return basis


ROTATION_BASIS = _rotation_basis()


def rotation_tap_matrix(theta: Tensor) -> Tensor:
    """The 9x9 matrix R(θ) that rotates a 3x3 kernel by θ, tap by tap.

    Row t of R holds the weights of the source taps (row-major 0..8) that make tap t of the
    rotated kernel; every (out, in) channel pair of a kernel is rotated by the same R. With
    x = cos θ, y = sin θ, a = x - y, p = xy, s = x + y and "next"/"previous" the neighbour on
    the clockwise ring 0, 1, 2, 5, 8, 7, 6, 3:

    - θ >= 0: corner k <- a w_k + (1 - a) w_next(k); edge midpoint m <- (x - p) w_m +
      p w_next(m) + (y - p) w_next(next(m)) + (1 - s + p) w_4;
    - θ < 0: corner k <- s w_k + (1 - s) w_prev(k); edge midpoint m <- (x + p) w_m -
      p w_prev(m) + (p - y) w_prev(prev(m)) + (1 - a - p) w_4;
    - the centre tap is kept. R(0) is the identity.

    Args:
        theta (Tensor): (...) angles in radians.

    Returns:
        Tensor: (..., 9, 9) rotation matrices.
    """
    terms = _rotation_terms(theta)
    basis = ROTATION_BASIS.to(device=theta.device, dtype=theta.dtype)
    rot = torch.einsum('...gc,gcij->...gij', terms, basis)
    return torch.where((theta >= 0)[..., None, None], rot[..., 0, :, :], rot[..., 1, :, :])


class AdaptiveRotatedConv2d(nn.Module):
    """A 3x3 convolution whose kernel is rotated and scaled per sample.

    A bank of n kernels W_k (C_out, C_in, 3, 3) and a :class:`RotationRouting` that reads the
    input X (B, C_in, h, w) and returns α, θ (B, n). Sample b is convolved (stride 1,
    padding 1, no bias) with its own kernel ``W_b = Σ_k α_bk R(θ_bk) W_k`` (see
    :func:`rotation_tap_matrix`), done for the whole batch as one grouped convolution.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_number (int): n. Defaults to 1.
        max_angle (float): Largest rotation in degrees. Defaults to 40.
        routing_dropout (float): Dropout of the routing. Defaults to 0.2.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_number: int = 1,
                 max_angle: float = 40.0,
                 routing_dropout: float = 0.2):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_number = kernel_number
        self.weight = nn.Parameter(torch.empty(kernel_number, out_channels, in_channels, 3, 3))
        # on this 5-D tensor fan_out is n * C_in * 9, as in the published code
        nn.init.kaiming_normal_(self.weight, mode='fan_out', nonlinearity='relu')
        self.routing = RotationRouting(in_channels, kernel_number, max_angle, routing_dropout)

    def sample_kernels(self, alpha: Tensor, theta: Tensor) -> Tensor:
        """The kernels ``W_b = Σ_k α_bk R(θ_bk) W_k``.

        Args:
            alpha (Tensor): (B, n) kernel weights.
            theta (Tensor): (B, n) angles in radians.

        Returns:
            Tensor: (B, C_out, C_in, 3, 3).
        """
        mix = rotation_tap_matrix(theta) * alpha[..., None, None]
        kernels = torch.einsum('bkts,kois->boit', mix, self.weight.flatten(3))
        return kernels.reshape(-1, self.out_channels, self.in_channels, 3, 3)

    def forward(self, x: Tensor) -> Tensor:
        """Convolves each sample with its own kernel.

        Args:
            x (Tensor): (B, C_in, h, w).

        Returns:
            Tensor: (B, C_out, h, w).
        """
        batch, channels, height, width = x.shape
        if channels != self.in_channels:
            raise ValueError(f'AdaptiveRotatedConv2d built for {self.in_channels} input '
                             f'channels got {channels}')
        kernels = self.sample_kernels(*self.routing(x))
        out = F.conv2d(x.reshape(1, batch * channels, height, width),
                       kernels.flatten(0, 1), padding=1, groups=batch)
        return out.view(batch, self.out_channels, height, width)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size=3, padding=1, '
                f'kernel_number={self.kernel_number}')
