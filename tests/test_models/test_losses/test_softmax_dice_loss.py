import pytest
import torch

from mmrrsis.models.losses import SoftmaxDiceLoss
from mmrrsis.registry import MODELS


def hand_dice(logits, target, eps):
    """The (B, K) Dice terms written out sample by sample and class by class."""
    prob = logits.softmax(1)
    terms = torch.zeros(logits.shape[:2], dtype=logits.dtype)
    for b in range(logits.shape[0]):
        for k in range(logits.shape[1]):
            y = (target[b] == k).to(logits.dtype)
            p = prob[b, k]
            terms[b, k] = 1 - (2 * (p * y).sum() + eps) / (p.sum() + y.sum() + eps)
    return terms


@pytest.mark.parametrize('class_reduction', ['sum', 'mean'])
@pytest.mark.parametrize('batch_reduction', ['sum', 'mean'])
def test_reductions_match_hand_computation(class_reduction, batch_reduction):
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 5, 4, dtype=torch.float64)
    target = torch.randint(0, 2, (3, 5, 4))
    loss = MODELS.build(dict(type='SoftmaxDiceLoss', class_reduction=class_reduction,
                             batch_reduction=batch_reduction, loss_weight=0.5))
    terms = hand_dice(logits, target, 1e-6)
    terms = terms.sum(1) if class_reduction == 'sum' else terms.mean(1)
    expected = terms.sum() if batch_reduction == 'sum' else terms.mean()
    assert torch.allclose(loss(logits, target), 0.5 * expected)
    assert loss.loss_name == 'loss_dice'


def test_sum_grows_with_batch_mean_does_not():
    logits = torch.randn(1, 2, 4, 4)
    target = torch.randint(0, 2, (1, 4, 4))
    summed, averaged = SoftmaxDiceLoss(), SoftmaxDiceLoss(batch_reduction='mean')
    one = summed(logits, target)
    four = summed(logits.repeat(4, 1, 1, 1), target.repeat(4, 1, 1))
    assert torch.allclose(four, 4 * one)
    assert torch.allclose(averaged(logits.repeat(4, 1, 1, 1), target.repeat(4, 1, 1)),
                          averaged(logits, target))


def test_perfect_prediction_and_ignored_pixels():
    target = torch.tensor([[[0, 1], [1, 255]]])
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1][target[0] == 1] = 50.0
    logits[0, 0][target[0] == 0] = 50.0
    logits[0, 0, 1, 1] = -50.0  # a wrong, but ignored, pixel
    assert SoftmaxDiceLoss()(logits, target).item() == pytest.approx(0.0, abs=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match='class_reduction'):
        SoftmaxDiceLoss(class_reduction='none')
    with pytest.raises(ValueError, match='does not match'):
        SoftmaxDiceLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, dtype=torch.long))


def test_half_precision_logits_give_the_float32_loss():
    """float16 logits of a 320 x 320 map: the pixel sums (beyond 65504) stay finite."""
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 320, 320)
    target = torch.ones(1, 320, 320, dtype=torch.long)
    loss = MODELS.build(dict(type='SoftmaxDiceLoss'))
    half = loss(logits.half(), target)
    assert half.dtype == torch.float32 and torch.isfinite(half)
    torch.testing.assert_close(half, loss(logits.half().float(), target))
