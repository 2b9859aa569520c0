"""Softmax Dice loss of the LAVT lineage's published code (FIANet, RMSIN): one Dice term per
sample and class, summed or averaged over each axis."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmrrsis.registry import MODELS

REDUCTIONS = ('sum', 'mean')


@MODELS.register_module()
class SoftmaxDiceLoss(nn.Module):
    """``1 - (2 Σ p y + ε) / (Σ p + Σ y + ε)`` per sample b and class k, p the softmax.

    The sums run over the pixels of one sample; y is the one-hot label. The (B, K) terms are
    then reduced over classes and over the batch separately:

    - FIANet's code sums over both (``class_reduction='sum', batch_reduction='sum'``), so the
      loss grows with the batch (16 terms at batch 8 for two classes).
    - RMSIN's recipe sums per GPU over its 2 samples and DDP averages over 4 GPUs: on the global
      batch that is ``class_reduction='sum', batch_reduction='mean'`` with ``loss_weight``
      0.2 (= 0.1 × 2), independent of the GPU count.

    mmseg's ``DiceLoss`` pools classes differently (and uses eps 1e-3), hence this loss.

    Pixels labelled ``ignore_index`` count in neither sum.

    Args:
        eps (float): ε in numerator and denominator. Defaults to 1e-6.
        class_reduction (str): ``'sum'`` or ``'mean'`` over the K classes. Defaults to 'sum'.
        batch_reduction (str): ``'sum'`` or ``'mean'`` over the B samples. Defaults to 'sum'.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Name in the loss dict; must start with ``loss_`` to be back-propagated.
            Defaults to 'loss_dice'.
    """

    def __init__(self,
                 eps: float = 1e-6,
                 class_reduction: str = 'sum',
                 batch_reduction: str = 'sum',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice'):
        super().__init__()
        for key, value in (('class_reduction', class_reduction),
                           ('batch_reduction', batch_reduction)):
            if value not in REDUCTIONS:
                raise ValueError(f'SoftmaxDiceLoss: {key} must be one of {REDUCTIONS}, '
                                 f'got {value!r}')
        self.eps = eps
        self.class_reduction = class_reduction
        self.batch_reduction = batch_reduction
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
            pred (Tensor): (B, K, H, W) logits.
            target (Tensor): (B, H, W) class indices.
            weight (Tensor, optional): Unused; accepted for mmseg's decode-head call.
            ignore_index (int): Label of pixels left out. Defaults to 255.

        Returns:
            Tensor: The scalar loss.
        """
        num_classes = pred.shape[1]
        if target.shape != (pred.shape[0], *pred.shape[2:]):
            raise ValueError(f'SoftmaxDiceLoss: target {tuple(target.shape)} does not match the '
                             f'logits {tuple(pred.shape)}; expected (B, H, W)')
        # float32 at least: in float16 the sums over the pixels of a 256 x 256 map overflow
        pred = pred.to(torch.promote_types(pred.dtype, torch.float32))
        valid = (target != ignore_index).unsqueeze(1).to(pred.dtype)
        prob = pred.softmax(dim=1) * valid
        onehot = F.one_hot(target.clamp(0, num_classes - 1).long(), num_classes)
        onehot = onehot.permute(0, 3, 1, 2).to(pred.dtype) * valid
        inter = (prob * onehot).flatten(2).sum(-1)
        union = prob.flatten(2).sum(-1) + onehot.flatten(2).sum(-1)
        dice = 1 - (2 * inter + self.eps) / (union + self.eps)
        dice = dice.sum(1) if self.class_reduction == 'sum' else dice.mean(1)
        dice = dice.sum() if self.batch_reduction == 'sum' else dice.mean()
        return self.loss_weight * dice

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'eps={self.eps}, class_reduction={self.class_reduction!r}, '
                f'batch_reduction={self.batch_reduction!r}, loss_weight={self.loss_weight}')

