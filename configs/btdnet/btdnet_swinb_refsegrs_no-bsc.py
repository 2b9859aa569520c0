# Table V: no BSC at any stage (vision and text encoded apart until the decoder).
_base_ = './btdnet_swinb_refsegrs.py'
model = dict(backbone=dict(fusion=None))
