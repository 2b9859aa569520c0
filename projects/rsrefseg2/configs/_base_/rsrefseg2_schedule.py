# The RSRefSeg 2 recipe: AdamW (default betas/eps) with weight decay 0.05 on every trainable
# parameter, gradient norm clipped at 3, bf16 autocast; linear warm-up x0.01 -> 1 over epochs
# 0-5 (per iteration), constant until 10 % of the epochs, then cosine per epoch to 0.01 x lr
# with T_max = 1.8 x the epochs (the reference's commit 7469d09; 7cda8cd has 2 x), so the run
# ends before the cosine's minimum. Validation every 10 epochs, the best val mIoU kept (the
# reference selects on its test split). A child sets max_epochs, lr and the scheduler ends.
max_epochs = 300
base_lr = 1e-4
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    clip_grad=dict(max_norm=3.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=int(1.8 * max_epochs), by_epoch=True,
         begin=int(0.1 * max_epochs), end=max_epochs, eta_min_ratio=0.01),
]
# SAM 2's IoU head and mask tokens 1-3's hypernetworks get no gradient in training (token 0 is
# the output; they act only in the evaluation fallback), so DDP must allow unused parameters.
find_unused_parameters = True
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=2,
                    save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='RRSISVisualizationHook', draw=False))
