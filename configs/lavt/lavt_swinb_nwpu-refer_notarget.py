# LAVT on NWPU-Refer that also says when the expression's object is absent: the LAVT recipe of
# lavt_swinb_rrsisd.py on nwpu_refer.py (whose no-target samples are part of the dataset, so no
# NoTargetDataset) plus the existence head of lavt_swinb_rrsisd_notarget.py. present_weight
# 3/7 assumes 30 % no-target samples; set it to r / (1 - r) for the share r that
# tools/dataset_converters/check_dataset.py counts on the real training split.
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/datasets/nwpu_refer.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_lavt.py',
    '../_base_/models/existence_head.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
model = dict(
    type='ExistenceEncoderDecoder',
    existence_head=dict(
        _base_.existence_head, in_channels=1024, in_index=-1, channels=256, text_channels=768))
