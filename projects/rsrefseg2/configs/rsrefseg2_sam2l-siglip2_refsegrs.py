# RSRefSeg 2 on RefSegRS with the reference recipe: 600 epochs, lr 2e-4, batch 8 per GPU,
# selection on val mIoU (the reference selects on test).
_base_ = [
    './_base_/rsrefseg2_sam2l_siglip2.py', './_base_/rsrefseg2_refsegrs_1024.py',
    '../../../configs/_base_/default_runtime.py',
    './_base_/rsrefseg2_schedule.py'
]
max_epochs = 600
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=int(1.8 * max_epochs), by_epoch=True,
         begin=int(0.1 * max_epochs), end=max_epochs, eta_min_ratio=0.01),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=8)
