# IIM without its spatial scale branch and gate: PWAM + language gate at every stage (LAVT's
# fusion); CIM, ARC decoder and loss unchanged.
_base_ = '../rmsin_swinb_rrsisd.py'
iim = dict(type='IIM', num_heads=1, dropout=0.0, with_scale_branch=False)
model = dict(backbone=dict(fusion=[iim, iim, iim, dict(iim, last_stage=True)]))
