# Ablation: DFS's selection also reads the sentence (the masked mean of the words).
_base_ = '../sbanet_swinb_refsegrs.py'
bam = dict(type='BAM', dfs=dict(type='DFS', text_conditioned=True))
model = dict(backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]))
