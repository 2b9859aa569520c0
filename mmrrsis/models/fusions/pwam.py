"""LAVT's pixel-word attention module with its language gate (LAVT, CVPR 2022, Sec. 3.2-3.3)."""
from typing import Tuple

from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils import LanguageGate, PixelWordAttention


@MODELS.register_module()
class PWAM(BaseModule):
    """Pixel-Word Attention Module plus the gated residual into the next stage.

    With V (B, N, C) the output of a Swin stage's blocks and L (B, Nt, C_l) the words::

        F  = GELU(W_m (GELU(W_v V) ⊙ A(V, L, m)))      A: PixelWordAttention
        next stage input  E = V + gate(F) ⊙ F          gate: LanguageGate (tanh)
        stage output        F                          (normed by the Swin's norm_i)

    so the decoder sees the multimodal features F while the next Swin stage sees the gated
    residual (LAVT's convention, kept by RMSIN, FIANet and SBANet). The text is returned
    unchanged.

    Args:
        vis_channels (int): Channels C of the stage.
        text_channels (int): Word channels C_l. Defaults to 768.
        num_heads (int): Heads of the pixel-word attention. Defaults to 1 (LAVT's default).
        dropout (float): Dropout after the two GELUs. Defaults to 0.
        last_stage (bool): The stage feeds no later stage: the gate, whose output nothing
            would read, is not built and V is returned as E. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 num_heads: int = 1,
                 dropout: float = 0.0,
                 last_stage: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.vis_channels = vis_channels
        self.text_channels = text_channels
        self.vis_proj = nn.Sequential(
            nn.Linear(vis_channels, vis_channels), nn.GELU(), nn.Dropout(dropout))
        self.attn = PixelWordAttention(vis_channels, text_channels, num_heads=num_heads)
        self.mm_proj = nn.Sequential(
            nn.Linear(vis_channels, vis_channels), nn.GELU(), nn.Dropout(dropout))
        self.last_stage = last_stage
        self.gate = None if last_stage else LanguageGate(vis_channels)

    def multimodal(self, vis: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        """F, the module's multimodal features.

        Args:
            vis (Tensor): (B, N, C) pixel features V.
            text (Tensor): (B, Nt, C_l) words L.
            text_mask (Tensor): (B, Nt), 1 for real tokens.

        Returns:
            Tensor: (B, N, C) F.
        """
        return self.mm_proj(self.vis_proj(vis) * self.attn(vis, text, text_mask))

    def forward(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage.

        Args:
            vis (Tensor): (B, N, C) output of the stage's Swin blocks, N = h * w.
            hw_shape (tuple[int, int]): (h, w); unused, part of the fusion interface.
            text (Tensor): (B, Nt, C_l) word features.
            text_mask (Tensor): (B, Nt), 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor]: next-stage input E and stage output F, each (B, N, C), and the
            text, unchanged.
        """
        channels = vis.shape[-1]
        if channels != self.vis_channels or text.shape[-1] != self.text_channels:
            raise ValueError(f'PWAM built for {self.vis_channels} visual / '
                             f'{self.text_channels} text channels got {channels} / '
                             f'{text.shape[-1]}')
        fused = self.multimodal(vis, text, text_mask)
        if self.gate is None:
            return vis, fused, text
        return vis + self.gate(fused) * fused, fused, text

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, text_channels={self.text_channels}, '
                f'last_stage={self.last_stage}')
