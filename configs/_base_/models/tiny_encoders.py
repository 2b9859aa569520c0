# The toy-size encoders of the *_tiny_synthetic configs, randomly initialised: a Swin of width
# 24 (depths 1-1-2-1, window 4) for 64-px inputs and a 4-layer BERT of width 64 over the
# WordPiece vocabulary that tools/dataset_converters/make_synthetic.py writes next to the data.
# A config puts them where its model takes its encoders (backbone.vision / backbone.text for
# the extractors) and adds what its text encoder needs (stages, frozen parts).
vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
tiny_swin = dict(
    pretrain_img_size=64,
    embed_dims=24,
    depths=[1, 1, 2, 1],
    num_heads=[1, 2, 4, 8],
    window_size=4,
    drop_path_rate=0.0,
    init_cfg=None)
tiny_bert = dict(
    pretrained=False,
    bert_config=dict(vocab_size=1000, hidden_size=64, num_hidden_layers=4, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=32))
