# Without the cross-scale interaction: the IIM stage outputs go straight to the ARC decoder.
_base_ = '../rmsin_swinb_rrsisd.py'
model = dict(neck=None)
