# Tiny BTDNet that also says when the expression's object is absent: an existence head on the
# target prototype p_fg (ExistenceHead, query_output of the T-BTD head), trained next to
# the mask losses on the synthetic data's exact no-target expressions (see
# synthetic_refsegrs_notarget.py).
_base_ = [
    './btdnet_tiny_synthetic.py', '../_base_/models/existence_head.py',
    '../_base_/datasets/synthetic_refsegrs_notarget.py'
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
        _base_.existence_head, in_channels=96, in_index=2, channels=48, text_channels=64,
        query_output='target_prototype', query_channels=48))
