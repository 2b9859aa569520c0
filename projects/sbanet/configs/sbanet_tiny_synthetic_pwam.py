# The tiny SBANet with LAVT's PWAM in place of BAM (no query, no DFS, no text update); TSCA,
# data and schedule unchanged, so the two compare on equal terms. With also neck=None it is
# configs/lavt/lavt_tiny_synthetic.py.
_base_ = './sbanet_tiny_synthetic.py'
pwam = dict(type='PWAM', num_heads=1, dropout=0.0)
model = dict(backbone=dict(fusion=[pwam, pwam, pwam, dict(pwam, last_stage=True)]))
