# Every RMSIN part off (no scale branch, no CIM, plain decoder) and cross-entropy only: LAVT's
# architecture and loss (configs/lavt/lavt_swinb_rrsisd.py) under RMSIN's recipe (lr 3e-5, random
# black boxes).
_base_ = '../rmsin_swinb_rrsisd.py'
iim = dict(type='IIM', num_heads=1, dropout=0.0, with_scale_branch=False)
model = dict(
    backbone=dict(fusion=[iim, iim, iim, dict(iim, last_stage=True)]),
    neck=None,
    decode_head=dict(
        rotated=False,
        loss_decode=dict(_delete_=True, type='CrossEntropyLoss', use_sigmoid=False,
                         class_weight=[0.9, 1.1], loss_weight=1.0)))
