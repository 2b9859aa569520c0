# RMSIN (Liu et al., CVPR 2024) as its published code builds it: LAVT's skeleton (Swin-B window 12
# IN-22K, BERT-base run once before the vision stages) with an IIM (PWAM + gated spatial scale
# branch) after the blocks of every stage, the text-free cross-scale interaction (CIM) as a neck
# and LAVT's decoder with adaptive rotated convolutions (ARCHead). The last stage's IIM is its
# PWAM alone: the code's gates and scale branch there feed no output and are not built.
_base_ = '../../../../configs/_base_/models/lavt_swinb_bert.py'
custom_imports = dict(imports=['projects.rmsin.rmsin'], allow_failed_imports=False)
iim = dict(type='IIM', num_heads=1, dropout=0.0, with_scale_branch=True)
model = dict(
    # the first 20 ids of the encoding, as the code slices them (an overlong expression loses
    # its [SEP])
    data_preprocessor=dict(truncation='slice'),
    backbone=dict(fusion=[iim, iim, iim, dict(iim, last_stage=True)]),
    # the stage-4 grid of 480x480 inputs; the attention's token projection is sized by it
    neck=dict(type='CIM', in_channels=[128, 256, 512, 1024], grid=(15, 15), num_blocks=1),
    decode_head=dict(
        _delete_=True,
        type='ARCHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        channels=512,
        num_classes=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True,
        rotated=True,
        kernel_number=1,
        max_angle=40,
        routing_dropout=0.2,
        # 0.9 x class-weighted CE + 0.1 x Dice summed over classes and each GPU's 2 samples,
        # then averaged by DDP over 4 GPUs: on the global batch a batch mean with weight 0.2
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1],
                 loss_weight=0.9),
            dict(type='SoftmaxDiceLoss', eps=1e-6, class_reduction='sum',
                 batch_reduction='mean', loss_weight=0.2),
        ]))
