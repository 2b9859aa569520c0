# Tiny SBANet for the synthetic demo data: the architecture of the paper configs (BAM with DFS
# at every stage, BERT run once, TSCA, LAVTHead) on the small Swin, 4-layer BERT, data and
# schedule of configs/lavt/lavt_tiny_synthetic.py, so it compares on equal terms with LAVT and with
# its PWAM child sbanet_tiny_synthetic_pwam.py. 4 heads: 8 would leave 3 channels per head at
# the first stage's 24.
_base_ = '../../../configs/lavt/lavt_tiny_synthetic.py'
custom_imports = dict(imports=['projects.sbanet.sbanet'], allow_failed_imports=False)
bam = dict(type='BAM', num_queries=16, num_heads=4, dfs=dict(type='DFS'))
model = dict(
    backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]),
    neck=dict(type='TSCA', in_channels=[24, 48, 96, 192], channels=32, text_channels=64))
