# Tiny FIANet for the synthetic demo data: the architecture of the paper configs (FIAM with
# object and position branches at stages 1-3, context-only at stage 4, BERT run three times,
# TMEM, LAVTHead, CE + Dice) on the toy Swin and 4-layer BERT of
# configs/_base_/models/tiny_encoders.py, trainable on a CPU; it also keeps the synthetic
# schedule and flips of configs/lavt/lavt_tiny_synthetic.py (the text decoupler runs after the
# flip, on the rewritten expression).
_base_ = [
    './_base_/fianet_swinb_bert.py',
    './_base_/fianet_meta_keys.py',
    '../../../configs/_base_/models/tiny_encoders.py',
    '../../../configs/_base_/datasets/synthetic_refsegrs.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
widths = [24, 48, 96, 192]
model = dict(
    data_preprocessor=dict(tokenizer=_base_.vocab, size=crop_size),
    backbone=dict(
        vision=_base_.tiny_swin,
        text=dict(_base_.tiny_bert, freeze_embeddings=False, frozen_layers=(), stages=(4, ))),
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
