# TMEM ablation: 3 TMEM block(s) (the RefSegRS recipe uses 1, RRSIS-D's 3).
_base_ = '../fianet_swinb_refsegrs.py'
model = dict(neck=dict(num_blocks=3))
