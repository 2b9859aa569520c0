# Mixing: BTDNet's extractor (BSC fused, text-aware features) feeding mmseg's text-free FPNHead.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(
    backbone=dict(text_passes=[dict(name='masked', ids='masked_ids')]),
    auxiliary_head=None,
    decode_head=dict(
        _delete_=True,
        type='FPNHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=128,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
