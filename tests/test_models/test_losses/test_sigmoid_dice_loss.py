"""SigmoidDiceLoss equals the hand-computed squared Dice; ignored pixels drop out unless
count_ignored."""
import torch

from mmrrsis.models.losses import SigmoidDiceLoss


def test_value_and_ignored_pixels():
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 1.0]]], [[[3.0, -3.0], [0.5, 0.0]]]])
    target = torch.tensor([[[0, 1], [255, 1]], [[1, 0], [0, 255]]])
    p = logits.sigmoid()[:, 0].flatten(1)
    y = target.flatten(1).float()
    valid = (y != 255).float()

    def dice(p, y):
        return (1 - 2 * (p * y).sum(1) / ((p.pow(2).sum(1) + 1e-3) + (y.pow(2).sum(1) + 1e-3))
                ).mean()

    torch.testing.assert_close(SigmoidDiceLoss()(logits, target), dice(p * valid, y * valid))
    torch.testing.assert_close(SigmoidDiceLoss(count_ignored=True, loss_weight=5.)(
        logits, target), 5 * dice(p, y))
    # a perfect, confident prediction of a one-pixel mask scores ~0
    sure = torch.full((1, 1, 2, 2), -20.)
    sure[0, 0, 0, 0] = 20.
    assert SigmoidDiceLoss()(sure, torch.tensor([[[1, 0], [0, 0]]])) < 2e-3
