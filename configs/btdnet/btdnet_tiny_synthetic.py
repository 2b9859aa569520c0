# Tiny BTDNet for the synthetic demo data: same architecture as the paper configs (BSC at every
# stage, T-BTD, D-MOLS), a small Swin and a 4-layer BERT, trainable on a CPU in minutes.
# The synthetic expressions always name their category, so the key phrase is found with the
# category lexicon (explicit offline choice; the paper configs use NLTK).
_base_ = [
    '../_base_/models/btdnet_swinb_bert.py', '../_base_/datasets/synthetic_refsegrs.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
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
    data_preprocessor=dict(tokenizer=vocab, size=crop_size),
    backbone=dict(
        vision=dict(
            pretrain_img_size=crop_size[0],
            embed_dims=24,
            depths=[1, 1, 2, 1],
            num_heads=[1, 2, 4, 8],
            window_size=4,
            drop_path_rate=0.0,
            init_cfg=None),
        text=dict(
            pretrained=False,
            bert_config=dict(vocab_size=1000, hidden_size=64, num_hidden_layers=4,
                             num_attention_heads=2, intermediate_size=128,
                             max_position_embeddings=32),
            stages=(1, 1, 1, 1)),
        fusion=bsc),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48, text_channels=64,
                     num_mci=2, num_heads=4, ffn_ratio=2),
    auxiliary_head=dict(in_channels=192, channels=48, text_channels=64, num_heads=4,
                        ffn_ratio=2))
max_iters = 1500
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
