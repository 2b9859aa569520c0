# Tiny baseline for the synthetic demo data, the "no-correlation" model of the BTDNet paper's
# Fig. 1a: the toy Swin of tiny_encoders.py and a 2-layer BERT encode image and text apart,
# LanguageGatedHead fuses them in the decoder. Trains on a CPU in a few minutes.
_base_ = [
    '../_base_/models/language-gated_swinb_bert.py', '../_base_/models/tiny_encoders.py',
    '../_base_/datasets/synthetic_refsegrs.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(tokenizer=_base_.vocab, size=crop_size),
    backbone=_base_.tiny_swin,
    text_encoder=dict(
        _base_.tiny_bert,
        bert_config=dict(_base_.tiny_bert.bert_config, num_hidden_layers=2),
        stages=(2, )),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48, text_channels=64))
# 800 iterations rather than the 1,500 of schedule_synthetic.py and the other tiny configs
max_iters = 800
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=400)
default_hooks = dict(checkpoint=dict(interval=400))
