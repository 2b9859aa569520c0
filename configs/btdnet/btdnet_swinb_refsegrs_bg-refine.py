# Not in the paper: the background queries Q_bg pass one cross-attention + FFN step over the
# MCI output before their mean gives p_bg.
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(decode_head=dict(refine_bg=True))
