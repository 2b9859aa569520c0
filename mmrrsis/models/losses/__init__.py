from .sigmoid_dice_loss import SigmoidDiceLoss
from .softmax_dice_loss import SoftmaxDiceLoss

__all__ = ['SigmoidDiceLoss', 'SoftmaxDiceLoss']
