# The class-weighted cross-entropy alone (weight 1, LAVT's loss) in place of 0.9 CE + Dice.
_base_ = '../rmsin_swinb_rrsisd.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(_delete_=True, type='CrossEntropyLoss', use_sigmoid=False,
                         class_weight=[0.9, 1.1], loss_weight=1.0)))
