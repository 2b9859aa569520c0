# Table V, per-stage rows: BSC after stage 1 only (stride 4), none after the deeper stages.
# BSC at all four stages is btdnet_swinb_refsegrs.py itself.
_base_ = './btdnet_swinb_refsegrs.py'
bsc = dict(type='BSC', embed_dims=256, window_sizes=(1, 3, 5), directions=('l2v', 'v2l'))
model = dict(backbone=dict(fusion=[bsc, None, None, None]))
