# Table VII: no D-MOLS reconstruction loss (the auxiliary head is removed).
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(
    auxiliary_head=None, backbone=dict(text_passes=[dict(name='masked', ids='masked_ids')]))
