# Tiny LAVT for the synthetic demo data: the architecture of the paper configs (PWAM + gate at
# every stage, BERT run once, LAVTHead), a small Swin and a 4-layer BERT, trainable on a CPU.
# Unlike the paper configs it trains all of BERT (random weights: nothing to keep) and keeps the
# synthetic schedule and flips of the BTDNet demo, so the two compare on equal terms.
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/datasets/synthetic_refsegrs.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
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
            freeze_embeddings=False,
            frozen_layers=(),
            stages=(4, ),
            bert_config=dict(vocab_size=1000, hidden_size=64, num_hidden_layers=4,
                             num_attention_heads=2, intermediate_size=128,
                             max_position_embeddings=32))),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48))
max_iters = 1500
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
