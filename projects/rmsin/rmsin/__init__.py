from .adaptive_rotated_conv2d import AdaptiveRotatedConv2d, rotation_tap_matrix
from .arc_head import ARCHead
from .cim import CIM
from .cim_block import CIMBlock
from .conv_feed_forward import ConvFeedForward
from .cross_scale_attention import CrossScaleAttention
from .iim import IIM
from .intra_scale_feed_forward import IntraScaleFeedForward
from .rep_conv_step import RepConvStep
from .rotation_routing import RotationRouting
from .scale_branch import ScaleBranch

__all__ = [
    'ARCHead', 'AdaptiveRotatedConv2d', 'CIM', 'CIMBlock', 'ConvFeedForward',
    'CrossScaleAttention', 'IIM', 'IntraScaleFeedForward', 'RepConvStep', 'RotationRouting',
    'ScaleBranch', 'rotation_tap_matrix'
]
