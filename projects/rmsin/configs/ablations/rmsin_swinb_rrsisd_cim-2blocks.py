# Two CIM blocks (RMSIN: one).
_base_ = '../rmsin_swinb_rrsisd.py'
model = dict(neck=dict(num_blocks=2))
