"""Mixing of every scale on the coarsest grid, fed back to each scale through a gate: the skeleton
of RMSIN's cross-scale interaction module (CIM; Liu et al. CVPR 2024) and FIANet's TMEM (Lei et
al. TGRS 2025)."""
from typing import Callable, List, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from .scale_aware_gate import ScaleAwareGate


class CrossScaleMixer(BaseModule):
    """Pools every scale to the coarsest grid, mixes them there and gates each scale with the mix.

    With Y_1..Y_n (B, C_i, h_i, w_i), finest first, and D = Σ C_i / 4::

        X = conv1x1(cat_i(adaptive_avg_pool(Y_i -> h_n x w_n)))     Σ C_i -> D
        X = mix(X), through num_blocks blocks                       (B, D, h_n, w_n)
        G_1..G_n = split(conv1x1(BN(X)))                            D -> Σ C_i, widths C_i
        O_i = ScaleAwareGate_i(Y_i, G_i)                            (B, C_i, h_i, w_i)

    A method supplies its blocks through ``build_block``; :meth:`mix` runs them on the map
    and is overridden when they take another layout or extra inputs (FIANet's take tokens
    and the text).

    Args:
        in_channels (Sequence[int]): C_i of the scales, finest first; their sum must be
            divisible by 4.
        build_block (Callable[[int], nn.Module]): Builds one mixing block given D.
        num_blocks (int): Blocks built. Defaults to 1.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 build_block: Callable[[int], nn.Module],
                 num_blocks: int = 1,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        total = sum(self.in_channels)
        if total % 4:
            raise ValueError(f'{type(self).__name__}: the summed input channels {total} of '
                             f'{self.in_channels} must be divisible by 4 (hidden width = sum / 4)')
        hidden = total // 4
        # built in this order so that a seeded model draws the weights it always drew
        self.in_proj = nn.Conv2d(total, hidden, 1)
        self.blocks = nn.ModuleList(build_block(hidden) for _ in range(num_blocks))
        self.out_bn = nn.BatchNorm2d(hidden)
        self.out_proj = nn.Conv2d(hidden, total, 1)
        self.gates = nn.ModuleList(ScaleAwareGate(c) for c in self.in_channels)

    def check_inputs(self, inputs: Sequence[Tensor]) -> None:
        """Raises ValueError unless ``inputs`` have the channels the module was built for."""
        channels = tuple(x.shape[1] for x in inputs)
        if channels != self.in_channels:
            raise ValueError(f'{type(self).__name__} built for inputs of {self.in_channels} '
                             f'channels got {channels}')

    def mix(self, x: Tensor, *args) -> Tensor:
        """Runs the blocks on the (B, D, h_n, w_n) map, passing ``args`` to each."""
        for block in self.blocks:
            x = block(x, *args)
        return x

    def forward(self, inputs: Sequence[Tensor], *args) -> List[Tensor]:
        """Mixes the scales.

        Args:
            inputs (Sequence[Tensor]): Y_1..Y_n, each (B, C_i, h_i, w_i), finest first.
            *args: Passed on to :meth:`mix`.

        Returns:
            list[Tensor]: O_1..O_n, each (B, C_i, h_i, w_i).
        """
        self.check_inputs(inputs)
        size = inputs[-1].shape[-2:]
        x = self.in_proj(torch.cat([F.adaptive_avg_pool2d(y, size) for y in inputs], dim=1))
        x = self.mix(x, *args)
        scales = self.out_proj(self.out_bn(x)).split(self.in_channels, dim=1)
        return [gate(y, g) for gate, y, g in zip(self.gates, inputs, scales)]

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, num_blocks={len(self.blocks)}'
