# Baseline "no-correlation" referring model (BTDNet paper, Fig. 1a): Swin-B and BERT-base
# encode image and text apart; a language-gated head fuses them in the decoder.
norm_cfg = dict(type='BN', requires_grad=True)
checkpoint_file = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/swin/swin_base_patch4_window12_384_22k_20220317-e5c09f74.pth'  # noqa
data_preprocessor = dict(
    type='ReferringDataPreProcessor',
    tokenizer='bert-base-uncased',
    max_length=20,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SwinTransformer',
        pretrain_img_size=384,
        embed_dims=128,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        window_size=12,
        mlp_ratio=4,
        qkv_bias=True,
        drop_path_rate=0.3,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    text_encoder=dict(type='BertTextEncoder', name_or_path='bert-base-uncased', pretrained=True),
    decode_head=dict(
        type='LanguageGatedHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=256,
        text_channels=768,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
