# The LAVT/RMSIN recipe as their train.py runs it: AdamW with one learning rate for every
# group, weight decay 0.01 except on the Swin's norms, absolute_pos_embed and
# relative_position_bias_table; poly decay (power 0.9) stepped every iteration over 40 epochs as
# their LambdaLR computes it, lr_0 (1 - t / T)^0.9 (LambdaPolyLR: mmengine's PolyLR would divide
# by T - 1 and reach 0 at the last iteration); the checkpoint with the best val oIoU is kept. Each custom key below matches only
# Swin parameters: BERT's norms are named LayerNorm (capital N) and keep their decay, as in the
# reference, and LAVTHead's norms are named bn.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0),
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
    }),
    clip_grad=None)
param_scheduler = [
    dict(type='LambdaPolyLR', eta_min=0.0, power=0.9, begin=0, end=40, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=40, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1,
                    save_best='oIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='RRSISVisualizationHook', draw=True, num_val_samples=4))
