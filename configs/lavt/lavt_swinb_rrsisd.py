# LAVT on RRSIS-D with the LAVT/RMSIN recipe (the RMSIN paper's LAVT row): 480x480, 20 tokens,
# AdamW 5e-5, weight decay 0.01, poly per iteration over 40 epochs, batch 2 x 4 GPUs, best val
# oIoU, scored at 480.
# Total batch 8 (batch_size is per GPU): on one GPU set train_dataloader.batch_size=8, or keep 2
# with optim_wrapper.accumulative_counts=4 (see configs/lavt/README.md, Equal to the reference).
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/datasets/rrsisd_480.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_lavt.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
