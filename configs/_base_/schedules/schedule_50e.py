# The paper's recipe: AdamW, 1e-5 on the two encoders and 1e-4 elsewhere, weight decay 0.01,
# poly decay (power 0.9) to 0 over 50 epochs, validation every epoch.
#
# Which parameters decay the paper does not say. We follow the LAVT lineage it builds on
# (LAVT's train.py): no decay on the backbone's norm layers and on Swin's absolute_pos_embed /
# relative_position_bias_table; everything else decays, biases included, and so do the heads'
# norms. Our choice beyond LAVT: BERT's LayerNorms count as the backbone's norms (no decay;
# LAVT decays BERT's). The keys below name the encoders' parameters only; a method config adds
# its own modules' (the BTDNet configs: BSC's gate norms, TBTDHead's level_embed and
# bg_prompts).
#
# mmengine gives a parameter the settings of the LONGEST custom key found in its name and then
# ignores every other rule (norm_decay_mult included), so each no-decay key is longer than the
# lr key it overrides ('backbone' 8, 'text_encoder' 12, 'backbone.fusions' 16 characters) and
# repeats that key's lr_mult.
_encoder_no_decay = dict(lr_mult=0.1, decay_mult=0.0)
_encoder_no_decay_keys = (
    # Swin (backbone.vision.*): position tables; patch-embed, block, patch-merging and output
    # norms. The block norms are matched as '.norm1.weight' etc.: shorter keys lose to
    # 'backbone'.
    'absolute_pos_embed', 'relative_position_bias_table', 'patch_embed.norm', 'downsample.norm',
    '.norm1.weight', '.norm1.bias', '.norm2.weight', '.norm2.bias', 'vision.norm',
    # BERT (backbone.text.bert.* or text_encoder.bert.*)
    'embeddings.LayerNorm', 'output.LayerNorm')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.1),
        'text_encoder': dict(lr_mult=0.1),
        # the fusion modules train at 1e-4 although they sit inside the backbone
        'backbone.fusions': dict(lr_mult=1.0),
        **{key: _encoder_no_decay for key in _encoder_no_decay_keys},
    }),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=50, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3,
                    save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='RRSISVisualizationHook', draw=True, num_val_samples=4))
