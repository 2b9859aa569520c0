# Ablation "w/o TSCA": the stage outputs go straight to the decoder.
_base_ = '../sbanet_swinb_refsegrs.py'
model = dict(neck=None)
