# Window-size ablation: BSC with the single-pixel / single-token window only.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(backbone=dict(fusion=dict(window_sizes=(1, ))))
