# Ablation: BAM without the vision-to-language update; the words TSCA reads are BERT's.
_base_ = '../sbanet_swinb_refsegrs.py'
bam = dict(type='BAM', directions=('l2v', ))
model = dict(backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]))
