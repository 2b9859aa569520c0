# BTDNet (arXiv 2502.08486): Swin-B + BERT-base bidirectional extractor with BSC at every stage,
# T-BTD decode head and the D-MOLS auxiliary head (training only).
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
bsc = dict(type='BSC', embed_dims=256, window_sizes=(1, 3, 5), directions=('l2v', 'v2l'))
model = dict(
    type='ReferringEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='BidirectionalExtractor',
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
        text=dict(type='BertTextEncoder', name_or_path='bert-base-uncased', pretrained=True,
                  stages=(3, 3, 3, 3)),
        fusion=bsc,
        text_passes=[dict(name='masked', ids='masked_ids'),
                     dict(name='target', frozen=True, training_only=True)]),
    decode_head=dict(
        type='TBTDHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        channels=256,
        text_channels=768,
        num_classes=2,
        num_mci=3,
        # multi-scale deformable attention among MCI's levels, linear in ΣHW (5376 tokens at
        # 512x512); exact 'sdpa' self-attention, quadratic, adds about 0.4x of a bare
        # Swin-B + BERT step to training and to inference (tools/analysis/benchmark.py, CPU)
        ms_attn='deformable',
        num_bg_prompts=5,
        use_bg_prior=True,
        # the paper's predictor: p_bg = Linear(mean(Q_bg)), no refinement of Q_bg over X
        # (btdnet_swinb_refsegrs_bg-refine.py turns it on)
        refine_bg=False,
        bg_loss_weight=0.6,
        align_corners=False),
    auxiliary_head=dict(
        type='DMOLSHead', in_channels=1024, in_index=-1, channels=256, text_channels=768,
        rec_tokens='all', channel_reduction='sum', loss_weight=0.1),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
