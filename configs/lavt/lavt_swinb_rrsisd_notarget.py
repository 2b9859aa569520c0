# LAVT on RRSIS-D that also says when the expression's object is absent (not in LAVT): the
# LAVT recipe plus an existence head on the pooled text and the top-level (language-fused)
# features, and 30 % sampled no-target samples in train, val and test (see
# rrsisd_notarget.py).
_base_ = [
    './lavt_swinb_rrsisd.py', '../_base_/models/existence_head.py',
    '../_base_/datasets/rrsisd_notarget.py'
]
train_dataloader = dict(dataset=dict(
    _delete_=True, dataset=_base_.train_dataloader.dataset, **_base_.no_target))
val_dataloader = dict(dataset=dict(
    _delete_=True, dataset=_base_.val_dataloader.dataset, **_base_.no_target))
test_dataloader = dict(dataset=dict(
    _delete_=True, dataset=_base_.test_dataloader.dataset, **_base_.no_target))
model = dict(
    type='ExistenceEncoderDecoder',
    existence_head=dict(
        _base_.existence_head, in_channels=1024, in_index=-1, channels=256, text_channels=768))
