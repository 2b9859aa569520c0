"""LAVT's "simple decoding" head (LAVT, CVPR 2022, Sec. 3.4)."""
from typing import List, Sequence

import torch
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import Tensor, nn

from mmrrsis.registry import MODELS


@MODELS.register_module()
class LAVTHead(BaseDecodeHead):
    """Top-down decoder: three upsample-concatenate-convolve steps, then a 1x1 classifier.

    From the coarsest level Y_4 down to Y_1::

        X = Y_4
        for Y in (Y_3, Y_2, Y_1):
            X = upsample(X) to Y's size (bilinear, align_corners=True) when smaller
            X = ReLU(BN(conv3x3(ReLU(BN(conv3x3([X; Y]))))))       bias-free convs
                                                      (fuse_steps[k][0..5])
        logits = conv1x1(X)                                        (B, num_classes, H/4, W/4)

    mmseg's ``predict_by_feat`` and ``loss_by_feat`` resize the logits to the input / label
    size with ``align_corners``, which is where LAVT upsamples its output too. It reads no
    text, so any config can use it on any four-level backbone.

    Args:
        in_channels (Sequence[int]): Channels of the levels, finest first (LAVT: 128, 256,
            512, 1024).
        channels (int): Hidden width. Defaults to 512 (LAVT: half of Y_4's 1024).
        in_index (Sequence[int]): Backbone outputs used, finest first. Defaults to
            (0, 1, 2, 3).
        norm_cfg (dict): Norm of the 3x3 convs. Defaults to ``dict(type='BN')``.
        align_corners (bool): Of every resize. Defaults to True (LAVT).
        dropout_ratio (float): Before the classifier. Defaults to 0 (LAVT has none).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``, ``loss_decode``...).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 512,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 align_corners: bool = True,
                 dropout_ratio: float = 0.0,
                 **kwargs):
        if len(in_channels) < 2 or len(in_channels) != len(in_index):
            raise ValueError(f'LAVTHead needs two or more levels with one in_index each, got '
                             f'in_channels={in_channels}, in_index={in_index}')
        super().__init__(
            in_channels=list(in_channels),
            channels=channels,
            in_index=list(in_index),
            input_transform='multiple_select',
            norm_cfg=norm_cfg,
            align_corners=align_corners,
            dropout_ratio=dropout_ratio,
            **kwargs)
        self.fuse_steps = nn.ModuleList()
        top = self.in_channels[-1]
        for lateral in reversed(self.in_channels[:-1]):
            self.fuse_steps.append(nn.Sequential(
                *self._conv_norm_act(top + lateral, channels),
                *self._conv_norm_act(channels, channels)))
            top = channels

    def _conv_norm_act(self, in_channels: int, out_channels: int) -> List[nn.Module]:
        # Flat layers rather than ConvModules: forward() then drops each input as soon as
        # the next layer has consumed it, which keeps the peak memory at LAVT's.
        return [
            build_conv_layer(self.conv_cfg, in_channels, out_channels, 3, padding=1,
                             bias=False),
            build_norm_layer(self.norm_cfg, out_channels)[1],
            build_activation_layer(self.act_cfg)
        ]

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Decodes (B, C_i, H_i, W_i) levels into (B, num_classes, H_1, W_1) logits."""
        feats = self._transform_inputs(inputs)
        x = feats[-1]
        for step, lateral in zip(self.fuse_steps, reversed(feats[:-1])):
            if x.shape[-2] < lateral.shape[-2] or x.shape[-1] < lateral.shape[-1]:
                x = resize(x, size=lateral.shape[2:], mode='bilinear',
                           align_corners=self.align_corners, warning=False)
            x = torch.cat([x, lateral], dim=1)
            for layer in step:
                x = layer(x)
        return self.cls_seg(x)
