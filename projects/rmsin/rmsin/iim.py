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

    With X (B, N, C) the output of the stage's Swin blocks, L (B, Nt, C_l) the words and
    m (B, Nt) their mask::

        F = PWAM's multimodal features of (X, L, m)             (stage output, normed by norm_i)
        G = ScaleBranch(X)                                       X ⊙ spatial gate
        E = X + g_l(F) ⊙ F + g_s(G) ⊙ G                          (input of the next stage)

    g_l (PWAM's own gate) and g_s are :class:`LanguageGate` s, both branches read the same X,
    and the stage output is the ungated F, as in LAVT; L is returned unchanged. The last
    stage feeds no later stage: ``last_stage=True`` builds the PWAM alone there and returns
    X as E.

    Args:
        vis_channels (int): Channels C of the stage.
        text_channels (int): Word channels C_l. Defaults to 768.
        num_heads (int): Heads of the pixel-word attention. Defaults to 1.
        dropout (float): PWAM dropout. Defaults to 0.
        with_scale_branch (bool): Build the spatial branch G and its gate; without it the
            module is LAVT's PWAM. Defaults to True.
        last_stage (bool): The stage feeds no later stage: build only what reaches the
            stage output. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 num_heads: int = 1,
                 dropout: float = 0.0,
                 with_scale_branch: bool = True,
                 last_stage: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.vis_channels = vis_channels
        self.last_stage = last_stage
        self.pwam = PWAM(vis_channels, text_channels, num_heads=num_heads, dropout=dropout,
                         last_stage=last_stage)
        if with_scale_branch and not last_stage:
            self.scale_branch = ScaleBranch()
            self.scale_gate = LanguageGate(vis_channels)
        else:
            self.scale_branch = self.scale_gate = None

    def forward(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage.

        Args:
            vis (Tensor): (B, N, C) output X of the stage's Swin blocks, N = h * w.
            hw_shape (tuple[int, int]): (h, w).
            text (Tensor): (B, Nt, C_l) word features.
            text_mask (Tensor): (B, Nt), 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor]: next-stage input E and stage output F, each (B, N, C), and the
            text, unchanged.
        """
        next_vis, fused, text = self.pwam(vis, hw_shape, text, text_mask)
        if self.scale_branch is not None:
            vis_map = vis.transpose(1, 2).reshape(vis.shape[0], vis.shape[2], *hw_shape)
            scaled = self.scale_branch(vis_map).flatten(2).transpose(1, 2)
            next_vis = next_vis + self.scale_gate(scaled) * scaled
        return next_vis, fused, text

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, '
                f'with_scale_branch={self.scale_branch is not None}, '
                f'last_stage={self.last_stage}')
