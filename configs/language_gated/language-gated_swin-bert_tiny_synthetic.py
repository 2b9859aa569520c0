# Tiny baseline for the synthetic demo data: trains on a CPU in a few minutes.
_base_ = [
    '../_base_/models/language-gated_swinb_bert.py', '../_base_/datasets/synthetic_refsegrs.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_synthetic.py'
]
crop_size = (64, 64)
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
model = dict(
    data_preprocessor=dict(tokenizer=vocab, size=crop_size),
    backbone=dict(
        pretrain_img_size=crop_size[0],
        embed_dims=24,
        depths=[1, 1, 2, 1],
        num_heads=[1, 2, 4, 8],
        window_size=4,
        drop_path_rate=0.0,
        init_cfg=None),
    text_encoder=dict(
        pretrained=False,
        bert_config=dict(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=128,
                         max_position_embeddings=32),
        stages=(2, )),
    decode_head=dict(in_channels=[24, 48, 96, 192], channels=48, text_channels=64))
