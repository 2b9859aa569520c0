import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.models.decode_heads import LAVTHead

CHANNELS = [4, 8, 16, 32]


def levels(height=24, width=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, c, -(-height // 2**i), -(-width // 2**i), generator=gen)
            for i, c in enumerate(CHANNELS)]


def test_shapes_and_layers():
    head = LAVTHead(CHANNELS, channels=12, num_classes=2).eval()
    feats = levels()
    assert head(feats).shape == (2, 2, 24, 40)
    convs = [m for m in head.fuse_steps.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6  # 3 steps x 2 convs
    assert all(c.bias is None and c.kernel_size == (3, 3) for c in convs)
    assert head.conv_seg.kernel_size == (1, 1) and head.conv_seg.bias is not None
    assert [s[0].in_channels for s in head.fuse_steps] == [32 + 16, 12 + 8, 12 + 4]
    assert all(isinstance(s[1], torch.nn.BatchNorm2d) and isinstance(s[2], torch.nn.ReLU)
               for s in head.fuse_steps)


def test_forward_by_hand():
    head = LAVTHead(CHANNELS, channels=12, num_classes=2).eval()
    feats = levels(height=23, width=37)  # odd sizes: the upsampling meets ceil-sized levels
    x = feats[3]
    for step, lateral in zip(head.fuse_steps, (feats[2], feats[1], feats[0])):
        x = F.interpolate(x, size=lateral.shape[2:], mode='bilinear', align_corners=True)
        x = torch.nn.functional.relu(step[1](step[0](torch.cat([x, lateral], 1))))
        x = torch.nn.functional.relu(step[4](step[3](x)))
    torch.testing.assert_close(head(feats), head.conv_seg(x))


def test_loss_is_plain_mmseg():
    head = LAVTHead(CHANNELS, channels=12, num_classes=2,
                    loss_decode=dict(type='CrossEntropyLoss', class_weight=[0.9, 1.1]))
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 96, 160)))
    losses = head.loss(levels(), [sample, sample], dict())
    assert set(losses) == {'loss_ce', 'acc_seg'} and losses['loss_ce'] > 0


def test_level_check():
    with pytest.raises(ValueError, match='two or more levels'):
        LAVTHead([4], in_index=[0])
