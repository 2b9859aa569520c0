# RSRefSeg 2 on RISBench with the reference recipe: 300 epochs, lr 1e-4, batch 8 per GPU,
# selection on val mIoU (the reference trains on train and selects on test).
_base_ = [
    './_base_/rsrefseg2_sam2l_siglip2.py', './_base_/rsrefseg2_risbench_1024.py',
    '../../../configs/_base_/default_runtime.py',
    './_base_/rsrefseg2_schedule.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
