# Tiny BTDNet for the synthetic demo data: same architecture as the paper configs (BSC at every
# stage, T-BTD, D-MOLS) on the toy encoders of tiny_encoders.py, trainable on a CPU in minutes.
# The synthetic expressions always name their category, so the key phrase is found with the
# category lexicon (explicit offline choice; the paper configs use NLTK).
_base_ = [
    '../_base_/models/btdnet_swinb_bert.py', '../_base_/models/tiny_encoders.py',
    '../_base_/datasets/synthetic_refsegrs.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
key_phrase = dict(type='KeyPhraseMasker', backend='lexicon')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    # flips rewrite left/right (top/bottom) in the expression, so they stay true
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    key_phrase,
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    key_phrase,
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
bsc = dict(type='BSC', embed_dims=32, window_sizes=(1, 3, 5), directions=('l2v', 'v2l'))
model = dict(
    data_preprocessor=dict(tokenizer=_base_.vocab, size=crop_size),
    backbone=dict(
        vision=_base_.tiny_swin, text=dict(_base_.tiny_bert, stages=(1, 1, 1, 1)), fusion=bsc),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48, text_channels=64,
                     num_mci=2, num_heads=4, ffn_ratio=2),
    auxiliary_head=dict(in_channels=192, channels=48, text_channels=64, num_heads=4,
                        ffn_ratio=2))
