# BTDNet on RefSegRS that also says when the expression's object is absent (not in the paper):
# the paper's recipe plus an existence head on the target prototype p_fg, and 30 % sampled
# no-target samples in train, val and test (see refsegrs_notarget.py).
_base_ = [
    './btdnet_swinb_refsegrs.py', '../_base_/models/existence_head.py',
    '../_base_/datasets/refsegrs_notarget.py'
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
        _base_.existence_head, in_channels=1024, in_index=-1, channels=256, text_channels=768,
        query_output='target_prototype', query_channels=256))
