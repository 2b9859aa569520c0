# Tiny FIANet for the synthetic demo data: the architecture of the paper configs (FIAM with
# object and position branches at stages 1-3, context-only at stage 4, BERT run three times,
# TMEM, LAVTHead, CE + Dice) with the small Swin and 4-layer BERT of
# configs/lavt/lavt_tiny_synthetic.py, trainable on a CPU; it also keeps that config's synthetic
# schedule and flips (the text decoupler runs after the flip, on the rewritten expression).
_base_ = [
    './_base_/fianet_swinb_bert.py',
    './_base_/fianet_meta_keys.py',
    '../../../configs/_base_/datasets/synthetic_refsegrs.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
widths = [24, 48, 96, 192]
model = dict(
    data_preprocessor=dict(tokenizer=vocab, size=crop_size),
    backbone=dict(
        vision=dict(
            pretrain_img_size=crop_size[0],
            embed_dims=widths[0],
            depths=[1, 1, 2, 1],
            num_heads=[1, 2, 4, 8],
            window_size=4,
            drop_path_rate=0.0,
            init_cfg=None),
        text=dict(
            pretrained=False,
            freeze_embeddings=False,
            frozen_layers=(),
            stages=(4, ),
            bert_config=dict(vocab_size=1000, hidden_size=64, num_hidden_layers=4,
                             num_attention_heads=2, intermediate_size=128,
                             max_position_embeddings=32))),
    neck=dict(in_channels=widths, text_channels=64, num_blocks=1),
    decode_head=dict(in_channels=widths, channels=48))
decoupler = dict(type='FIANetTextDecoupler', categories='refsegrs')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 1500
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
