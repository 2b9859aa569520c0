# Plain 3x3 convolutions in place of the adaptive rotated ones: LAVT's decoder after the CIM.
_base_ = '../rmsin_swinb_rrsisd.py'
model = dict(decode_head=dict(rotated=False))
