# Ablation "w/o BAM": LAVT's PWAM + language gate at every stage (the LAVT baseline's fusion;
# no query, no DFS, the words stay BERT's); TSCA still reads them. With also neck=None this is
# configs/lavt/lavt_swinb_refsegrs.py.
_base_ = '../sbanet_swinb_refsegrs.py'
pwam = dict(type='PWAM', num_heads=1, dropout=0.0)
model = dict(backbone=dict(fusion=[pwam, pwam, pwam, dict(pwam, last_stage=True)]))
