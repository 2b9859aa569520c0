# LAVT (Yang et al., CVPR 2022) as its reference code builds it: Swin-B (window 12, IN-22K) with
# a PWAM + language gate after the blocks of every stage, BERT-base run once before the vision
# stages, and the "simple decoding" head. The last stage's gate would feed no later stage, so it
# is not built. The skeleton (StageWiseExtractor, PWAM, LAVTHead) is shared by RMSIN, FIANet and
# SBANet.
norm_cfg = dict(type='BN', requires_grad=True)
checkpoint_file = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/swin/swin_base_patch4_window12_384_22k_20220317-e5c09f74.pth'  # noqa
data_preprocessor = dict(
    type='ReferringDataPreProcessor',
    tokenizer='bert-base-uncased',
    max_length=20,
    # the reference slices the WordPiece ids to 20, so an expression longer than 18 pieces
    # loses its [SEP] (the tokenizer's own cut would keep it and change the logits)
    truncation='slice',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(480, 480))
pwam = dict(type='PWAM', num_heads=1, dropout=0.0)
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='StageWiseExtractor',
        vision=dict(
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
        # The reference optimises only BERT's layers 0-9: embeddings and layers 10-11 stay
        # as pretrained. Set both to their defaults to fine-tune all of BERT.
        text=dict(type='BertTextEncoder', name_or_path='bert-base-uncased', pretrained=True,
                  stages=(12, ), freeze_embeddings=True, frozen_layers=(10, 11)),
        text_mode='whole',
        fusion=[pwam, pwam, pwam, dict(pwam, last_stage=True)]),
    decode_head=dict(
        type='LAVTHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        channels=512,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=True,
        # the reference's loss: cross-entropy weighted 0.9 (background) / 1.1 (target)
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1],
                         loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# every BN synchronised on several GPUs, as the reference's convert_sync_batchnorm
sync_bn = 'torch'
