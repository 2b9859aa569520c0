"""RMSIN's decoder: LAVT's simple decoding with adaptive rotated convolutions."""
from typing import Sequence

from mmrrsis.models.decode_heads import LAVTHead
from mmrrsis.registry import MODELS
from .adaptive_rotated_conv2d import AdaptiveRotatedConv2d


@MODELS.register_module()
class ARCHead(LAVTHead):
    """:class:`LAVTHead` whose second 3x3 convolution of every fuse step is rotated.

    Each of the three top-down steps becomes::

        X = ReLU(BN(ARC(ReLU(BN(conv3x3([up(X); Y]))))))

    with ARC an :class:`AdaptiveRotatedConv2d` (bias-free, its routing reading the step's own
    features). ``rotated=False`` keeps the plain convolution: the head is then LAVT's decoder,
    parameter for parameter. Everything else (upsampling to the skip's size with
    ``align_corners``, the 1x1 classifier, mmseg's losses) is :class:`LAVTHead`'s.

    Args:
        in_channels (Sequence[int]): Channels of the levels, finest first (RMSIN: 128, 256,
            512, 1024).
        channels (int): Hidden width. Defaults to 512.
        rotated (bool): Use adaptive rotated convolutions. Defaults to True.
        kernel_number (int): Kernels per rotated convolution. Defaults to 1 (RMSIN).
        max_angle (float): Largest rotation in degrees. Defaults to 40.
        routing_dropout (float): Dropout of the routing. Defaults to 0.2.
        **kwargs: :class:`LAVTHead` arguments (``in_index``, ``num_classes``,
            ``loss_decode``...).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 512,
                 rotated: bool = True,
                 kernel_number: int = 1,
                 max_angle: float = 40.0,
                 routing_dropout: float = 0.2,
                 **kwargs):
        super().__init__(in_channels, channels=channels, **kwargs)
        self.rotated = rotated
        if rotated:
            for step in self.fuse_steps:
                # a step is conv, BN, ReLU, conv, BN, ReLU: replace the second conv
                step[3] = AdaptiveRotatedConv2d(channels, channels, kernel_number, max_angle,
                                                routing_dropout)
