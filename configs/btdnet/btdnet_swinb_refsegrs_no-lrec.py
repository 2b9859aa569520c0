# Table VII: no D-MOLS reconstruction loss (the auxiliary head is removed).
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(auxiliary_head=None, backbone=dict(with_target_feats=False))
