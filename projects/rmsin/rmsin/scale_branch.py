"""The spatial "various receptive" branch of RMSIN's intra-scale interaction (IIM)."""
from torch import Tensor, nn

from .rep_conv_step import RepConvStep


class ScaleBranch(nn.Module):
    """Re-weights every pixel by a gate computed from the channel mean of the features.

    With X (B, C, h, w) and M = mean_C(X) (B, 1, h, w)::

        S = sigmoid(step₂(ReLU(step₁(M))))        step: :class:`RepConvStep`
        G = X ⊙ S                                 (S broadcast over the channels)

    38 parameters whatever C is. The published code views the tokens as a √N x √N map, so it
    only runs on square maps; here h and w come from the features.
    """

    def __init__(self):
        super().__init__()
        self.steps = nn.ModuleList([RepConvStep(), RepConvStep()])

    def forward(self, x: Tensor) -> Tensor:
        """Gates one stage.

        Args:
            x (Tensor): (B, C, h, w) features X.

        Returns:
            Tensor: (B, C, h, w) G.
        """
        gate = self.steps[0](x.mean(dim=1, keepdim=True)).relu()
        return x * self.steps[1](gate).sigmoid()
