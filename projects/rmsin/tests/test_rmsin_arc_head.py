"""ARCHead: LAVT's decoder with rotated convolutions, and RMSIN's CE + Dice loss."""
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.models.decode_heads import LAVTHead
from projects.rmsin.rmsin import AdaptiveRotatedConv2d, ARCHead

CHANNELS = [4, 8, 16, 32]
LOSS = [
    dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1], loss_weight=0.9),
    dict(type='SoftmaxDiceLoss', eps=1e-6, class_reduction='sum', batch_reduction='mean',
         loss_weight=0.2),
]


def levels(height=24, width=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, c, -(-height // 2**i), -(-width // 2**i), generator=gen)
            for i, c in enumerate(CHANNELS)]


def test_not_rotated_is_lavt_head():
    torch.manual_seed(0)
    arc = ARCHead(CHANNELS, channels=12, num_classes=2, rotated=False).eval()
    lavt = LAVTHead(CHANNELS, channels=12, num_classes=2).eval()
    assert arc.state_dict().keys() == lavt.state_dict().keys()
    lavt.load_state_dict(arc.state_dict())
    feats = levels(height=23, width=37)
    assert torch.equal(arc(feats), lavt(feats))


def test_rotated_steps_by_hand():
    torch.manual_seed(1)
    head = ARCHead(CHANNELS, channels=12, num_classes=2).eval()
    assert all(isinstance(step[3], AdaptiveRotatedConv2d) for step in head.fuse_steps)
    assert head.fuse_steps[0][3].weight.shape == (1, 12, 12, 3, 3)
    assert not any('norm' in name for name, _ in head.named_parameters())  # decays as the code
    feats = levels(height=23, width=37)
    x = feats[3]
    for step, lateral in zip(head.fuse_steps, (feats[2], feats[1], feats[0])):
        x = F.interpolate(x, size=lateral.shape[2:], mode='bilinear', align_corners=True)
        x = F.relu(step[1](step[0](torch.cat([x, lateral], 1))))
        x = F.relu(step[4](step[3](x)))
    logits = head(feats)
    assert logits.shape == (2, 2, 23, 37)
    torch.testing.assert_close(logits, head.conv_seg(x))
    k4 = ARCHead(CHANNELS, channels=12, num_classes=2, kernel_number=4)
    assert k4.fuse_steps[2][3].weight.shape == (4, 12, 12, 3, 3)
    assert k4.fuse_steps[2][3].routing.fc_theta.out_features == 4


def test_loss_is_weighted_ce_plus_batch_mean_dice():
    torch.manual_seed(2)
    head = ARCHead(CHANNELS, channels=12, num_classes=2, loss_decode=LOSS)
    labels = torch.randint(0, 2, (2, 1, 48, 80))
    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    feats = levels()
    torch.manual_seed(3)
    losses = head.loss(feats, samples, dict())
    torch.manual_seed(3)  # the same routing dropout
    logits = F.interpolate(head(feats), size=(48, 80), mode='bilinear', align_corners=True)
    target = labels[:, 0]
    ce = F.cross_entropy(logits, target, weight=torch.tensor([0.9, 1.1]))
    prob = logits.softmax(1)
    onehot = F.one_hot(target, 2).permute(0, 3, 1, 2).float()
    dice = 1 - (2 * (prob * onehot).sum((2, 3)) + 1e-6) / \
        (prob.sum((2, 3)) + onehot.sum((2, 3)) + 1e-6)
    torch.testing.assert_close(losses['loss_ce'], 0.9 * ce)
    # summed over the classes, averaged over the batch: 0.2 x mean = 0.1 x sum over 2 samples
    torch.testing.assert_close(losses['loss_dice'], 0.1 * dice.sum())
