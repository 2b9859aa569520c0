# RMSIN on RefSegRS. NOT the authors' setting: RMSIN's paper reports RRSIS-D only. This is the
# RRSIS-D recipe of rmsin_swinb_rrsisd.py on RefSegRS (480x480, AdamW 3e-5, 40 epochs, batch 8,
# best val oIoU, scored at 480), without the random black boxes, which the published code
# applies to RRSIS-D; FIANet's RefSegRS re-run of RMSIN is quoted in projects/rmsin/README.md.
_base_ = [
    './_base_/rmsin_swinb_bert.py', '../../../configs/_base_/datasets/refsegrs_480.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
optim_wrapper = dict(optimizer=dict(lr=3e-5))
find_unused_parameters = False
auto_scale_lr = dict(enable=False, base_batch_size=8)
