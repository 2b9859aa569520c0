from .softmax_dice_loss import SoftmaxDiceLoss

__all__ = ['SoftmaxDiceLoss']
