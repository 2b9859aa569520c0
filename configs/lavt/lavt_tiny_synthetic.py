# Tiny LAVT for the synthetic demo data: the architecture of the paper configs (PWAM + gate at
# every stage, BERT run once, LAVTHead) on the toy encoders of tiny_encoders.py, trainable on a
# CPU.
# Unlike the paper configs it trains all of BERT (random weights: nothing to keep) and keeps the
# synthetic schedule and flips of the BTDNet demo, so the two compare on equal terms.
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/models/tiny_encoders.py',
    '../_base_/datasets/synthetic_refsegrs.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(tokenizer=_base_.vocab, size=crop_size),
    backbone=dict(
        vision=_base_.tiny_swin,
        text=dict(_base_.tiny_bert, freeze_embeddings=False, frozen_layers=(), stages=(4, ))),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48))
