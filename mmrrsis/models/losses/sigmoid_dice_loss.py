"""Dice loss of a one-channel (sigmoid) mask, per sample, for the SAM-based methods."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmrrsis.registry import MODELS


@MODELS.register_module()
class SigmoidDiceLoss(nn.Module):
    """``1 - 2 Σ p y / ((Σ p² + ε) + (Σ y² + ε))`` per sample, p = σ(logit), mean over the batch.

    The squared-denominator Dice of V-Net, as RSRefSeg 2's code computes it. mmseg's
    ``DiceLoss`` with a single channel scores the background, hence this loss. Pixels labelled
    ``ignore_index`` (padding) count in no sum; ``count_ignored=True`` keeps them with their
    label value in y, as RSRefSeg 2's code does (it matters only for non-square images).

    Args:
        eps (float): ε added to each squared sum. Defaults to 1e-3.
        count_ignored (bool): Reproduce the reference's use of ignored pixels. Defaults to
            False.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Name in the loss dict; must start with ``loss_``. Defaults to
            'loss_dice'.
    """

    def __init__(self,
                 eps: float = 1e-3,
                 count_ignored: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice'):
        super().__init__()
        self.eps = eps
        self.count_ignored = count_ignored
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Computes the loss.

        Args:
            pred (Tensor): (B, 1, H, W) or (B, H, W) logits.
            target (Tensor): (B, H, W) labels in {0, 1, ``ignore_index``}.
            weight (Tensor, optional): Unsupported; must be None. Defaults to None.
            ignore_index (int): Label of pixels left out. Defaults to 255.

        Returns:
            Tensor: The scalar loss.
        """
        if weight is not None:
            raise ValueError('SigmoidDiceLoss takes no pixel weights')
        if pred.dim() == 4:
            if pred.shape[1] != 1:
                raise ValueError(f'SigmoidDiceLoss scores one channel, got pred {tuple(pred.shape)}')
            pred = pred[:, 0]
        prob = pred.sigmoid().flatten(1)
        target = target.flatten(1).to(prob)
        if not self.count_ignored:
            valid = (target != ignore_index).to(prob)
            prob, target = prob * valid, target * valid
        inter = (prob * target).sum(1)
        union = (prob.pow(2).sum(1) + self.eps) + (target.pow(2).sum(1) + self.eps)
        return self.loss_weight * (1 - 2 * inter / union).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
