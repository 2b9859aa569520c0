# LAVT on RRSIS-HR with the LAVT/RMSIN recipe of lavt_swinb_rrsisd.py (480x480, 20 tokens, AdamW
# 5e-5, poly per iteration over 40 epochs, batch 2 x 4 GPUs), which matches CADFormer's RRSIS-HR
# protocol: scored at 480, best val oIoU.
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/datasets/rrsishr.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_lavt.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
