# Table V: BSC only at the two deeper stages (3 and 4).
_base_ = './btdnet_swinb_refsegrs.py'
bsc = dict(type='BSC', embed_dims=256, window_sizes=(1, 3, 5), directions=('l2v', 'v2l'))
model = dict(backbone=dict(fusion=[None, None, bsc, bsc]))
