"""RMSIN's cross-scale interaction module (CIM), as a text-free neck."""
from typing import Sequence, Tuple

from mmseg.utils import OptMultiConfig
from torch import Tensor

from mmrrsis.models.utils import CrossScaleMixer
from mmrrsis.registry import MODELS
from .cim_block import CIMBlock


@MODELS.register_module()
class CIM(CrossScaleMixer):
    """Mixes the four stage outputs on the coarsest grid and gates each scale with the result.

    With Y_1..Y_4 (B, C_i, h_i, w_i) and the grid (g_h, g_w) = (h_4, w_4)::

        Z = conv1x1(cat_i(adaptive_avg_pool(Y_i -> g_h x g_w)))     Σ C_i -> D = Σ C_i / 4
        Z = CIMBlock(Z), num_blocks times
        G_1..G_4 = split(conv1x1(BN(Z)))                            D -> Σ C_i, widths C_i
        O_i = ScaleAwareGate_i(Y_i, G_i)                            (B, C_i, h_i, w_i)

    It is :class:`CrossScaleMixer` with CIM blocks and reads no text. The cross-scale
    attention of each block projects its tokens onto the grid with a linear layer, so the
    module is built for one stage-4 size (15 x 15 for 480 px inputs with Swin's stride 32) and
    refuses any other.

    Args:
        in_channels (Sequence[int]): C_i of the four stages, finest first. Defaults to
            (128, 256, 512, 1024).
        grid (tuple[int, int]): (g_h, g_w), the stage-4 size. Defaults to (15, 15).
        num_blocks (int): CIM blocks. Defaults to 1.
        mlp_ratio (int): Hidden width of the blocks' feed-forwards over their input's.
            Defaults to 2.
        num_heads (int): Heads of the cross-scale attention. Defaults to 8.
        key_channels (int): Its query/key width per head. Defaults to 32.
        value_ratio (int): Its value width per head over the key width. Defaults to 2.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to truncated
            normal (std 0.02, bias 0) on every linear layer, as the published backbone
            initialises them; convolutions and norms keep PyTorch's defaults.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 grid: Tuple[int, int] = (15, 15),
                 num_blocks: int = 1,
                 mlp_ratio: int = 2,
                 num_heads: int = 8,
                 key_channels: int = 32,
                 value_ratio: int = 2,
                 init_cfg: OptMultiConfig = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.0)):
        in_channels = tuple(in_channels)
        if any(c % 4 for c in in_channels):
            raise ValueError(f'CIM: every in_channels entry must be a multiple of 4 (the '
                             f'hidden map keeps a quarter of each), got {list(in_channels)}')
        grid = tuple(grid)
        super().__init__(
            in_channels,
            lambda hidden: CIMBlock(hidden, [c // 4 for c in in_channels], grid, mlp_ratio,
                                    num_heads=num_heads, key_channels=key_channels,
                                    value_ratio=value_ratio),
            num_blocks=num_blocks,
            init_cfg=init_cfg)
        self.grid = grid

    def check_inputs(self, inputs: Sequence[Tensor]) -> None:
        """Raises ValueError unless ``inputs`` have the built channels and stage-4 grid."""
        super().check_inputs(inputs)
        size = tuple(inputs[-1].shape[-2:])
        if size != self.grid:
            raise ValueError(
                f'CIM built for a {self.grid[0]}x{self.grid[1]} stage-4 grid got a '
                f'{size[0]}x{size[1]} stage-4 map: set neck.grid={size} for this input '
                f'size (the attention\'s token projection changes shape, so weights trained '
                f'for another grid do not fit)')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        """Interacts the scales.

        Args:
            inputs (Sequence[Tensor]): Y_1..Y_4, each (B, C_i, h_i, w_i).

        Returns:
            tuple[Tensor]: O_1..O_4, each (B, C_i, h_i, w_i).
        """
        return tuple(super().forward(inputs))

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, grid={self.grid}'
