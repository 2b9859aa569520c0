# Tiny RMSIN for the synthetic demo data: the architecture of the paper configs (IIM at every
# stage, PWAM-only at the last, BERT run once, the CIM neck, ARCHead with the CE + Dice loss) on
# the small Swin, 4-layer BERT, data and schedule of configs/lavt/lavt_tiny_synthetic.py, so it
# compares on equal terms with the tiny LAVT. The CIM grid is the 2 x 2 stage-4 map of the 64 px
# input; its attention gets 2 heads of key width 8 instead of 8 x 32 on a 90-wide hidden map.
_base_ = '../../../configs/lavt/lavt_tiny_synthetic.py'
custom_imports = dict(imports=['projects.rmsin.rmsin'], allow_failed_imports=False)
iim = dict(type='IIM', num_heads=1, dropout=0.0, with_scale_branch=True)
model = dict(
    backbone=dict(fusion=[iim, iim, iim, dict(iim, last_stage=True)]),
    neck=dict(type='CIM', in_channels=[24, 48, 96, 192], grid=(2, 2), num_blocks=1,
              num_heads=2, key_channels=8),
    decode_head=dict(
        _delete_=True,
        type='ARCHead',
        in_channels=[24, 48, 96, 192],
        in_index=[0, 1, 2, 3],
        channels=48,
        num_classes=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True,
        rotated=True,
        kernel_number=1,
        max_angle=40,
        routing_dropout=0.2,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1],
                 loss_weight=0.9),
            dict(type='SoftmaxDiceLoss', eps=1e-6, class_reduction='sum',
                 batch_reduction='mean', loss_weight=0.2),
        ]))
