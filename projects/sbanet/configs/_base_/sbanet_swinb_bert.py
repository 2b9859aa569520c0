# SBANet as reconstructed here (see projects/sbanet/README.md): LAVT's skeleton (Swin-B window
# 12 IN-22K, BERT-base run once before the vision stages, LAVTHead with the 0.9/1.1 weighted
# cross-entropy) with a BAM (learnable queries + DFS, updating the image and the words) in
# place of PWAM at every stage, and TSCA between the encoder and the decoder, reading the
# words as the last BAM left them. The last stage's vision gate would feed no later stage, so
# it is not built (as in the LAVT config).
_base_ = '../../../../configs/_base_/models/lavt_swinb_bert.py'
custom_imports = dict(imports=['projects.sbanet.sbanet'], allow_failed_imports=False)
bam = dict(
    type='BAM',
    num_queries=16,
    num_heads=8,
    ffn_ratio=4,
    dfs=dict(type='DFS', pool_scales=(1, 3, 6), reduction=4, text_conditioned=False),
    directions=('l2v', 'v2l'))
model = dict(
    backbone=dict(fusion=[bam, bam, bam, dict(bam, last_stage=True)]),
    neck=dict(type='TSCA', in_channels=[128, 256, 512, 1024], channels=256, text_channels=768))
