# Mixing: mmseg's FCNHead on stage 3 as a second auxiliary head next to D-MOLS.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(auxiliary_head=[
    dict(type='DMOLSHead', in_channels=1024, in_index=-1, channels=256, text_channels=768,
         rec_tokens='all', loss_weight=0.1),
    dict(type='FCNHead', in_channels=512, in_index=2, channels=256, num_convs=1,
         concat_input=False, dropout_ratio=0.1, num_classes=2,
         norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
])
