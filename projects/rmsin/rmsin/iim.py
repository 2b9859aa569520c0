"""RMSIN's intra-scale interaction module (IIM): LAVT's PWAM plus a gated spatial branch."""
from typing import Tuple

from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor

from mmrrsis.models.fusions import PWAM
from mmrrsis.models.utils import LanguageGate
from mmrrsis.registry import MODELS
from .scale_branch import ScaleBranch


@MODELS.register_module()
class IIM(BaseModule):
    """Fuses one Swin stage with the words, and passes a gated residual to the next stage.

    With X (B, C, h, w) the output of the stage's Swin blocks, L (B, Nt, C_l) the words and
    m (B, Nt) their mask::

        F = PWAM's multimodal features of (X, L, m)             (stage output, normed by norm_i)
        G = ScaleBranch(X)                                       X ⊙ spatial gate
        E = X + g_l(F) ⊙ F + g_s(G) ⊙ G                          (input of the next stage)

    g_l (PWAM's own gate) and g_s are :class:`LanguageGate` s, both branches read the same X,
    and the stage output is the ungated F, as in LAVT. As a fusion module of
    :class:`StageWiseExtractor` it returns ``(E, F, L)`` with L unchanged.

    The last stage has no next stage, so E would be discarded with everything only it feeds:
    ``output_only=True`` builds the PWAM alone there and returns X as the (unused) E.

    Args:
        vis_channels (int): Channels C of the stage.
        text_channels (int): Word channels C_l. Defaults to 768.
        num_heads (int): Heads of the pixel-word attention. Defaults to 1.
        dropout (float): PWAM dropout. Defaults to 0.
        with_scale_branch (bool): Build the spatial branch G and its gate; without it the
            module is LAVT's PWAM. Defaults to True.
        output_only (bool): Build only what reaches the stage output (last stage). Defaults
            to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 num_heads: int = 1,
                 dropout: float = 0.0,
                 with_scale_branch: bool = True,
                 output_only: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.vis_channels = vis_channels
        self.output_only = output_only
        self.pwam = PWAM(vis_channels, text_channels, num_heads=num_heads, dropout=dropout,
                         with_gate=not output_only)
        if with_scale_branch and not output_only:
            self.scale_branch = ScaleBranch()
            self.scale_gate = LanguageGate(vis_channels)
        else:
            self.scale_branch = self.scale_gate = None

    def forward(self, vis: Tensor, text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage.

        Args:
            vis (Tensor): (B, C, h, w) output X of the stage's Swin blocks.
            text (Tensor): (B, Nt, C_l) word features.
            text_mask (Tensor): (B, Nt), 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor]: next-stage input E and stage output F, each (B, C, h, w), and the
            text, unchanged.
        """
        next_vis, fused, text = self.pwam(vis, text, text_mask)
        if self.scale_branch is not None:
            scaled = self.scale_branch(vis).flatten(2).transpose(1, 2)
            gated = (self.scale_gate(scaled) * scaled).transpose(1, 2)
            next_vis = next_vis + gated.reshape(vis.shape)
        return next_vis, fused, text

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, '
                f'with_scale_branch={self.scale_branch is not None}, '
                f'output_only={self.output_only}')
