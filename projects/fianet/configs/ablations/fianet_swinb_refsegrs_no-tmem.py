# TMEM ablation: no neck, the decoder reads the four FIAM stage outputs directly.
_base_ = '../fianet_swinb_refsegrs.py'
model = dict(neck=None)
