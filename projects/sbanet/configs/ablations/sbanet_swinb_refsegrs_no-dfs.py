# Ablation "w/o DFS": the queries of every BAM read the stage features directly.
_base_ = '../sbanet_swinb_refsegrs.py'
bam = dict(type='BAM', dfs=None)
model = dict(backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]))
