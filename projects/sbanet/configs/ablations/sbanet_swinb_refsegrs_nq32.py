# Ablation: 32 learnable queries per stage instead of 16.
_base_ = '../sbanet_swinb_refsegrs.py'
bam = dict(type='BAM', num_queries=32)
model = dict(backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]))
