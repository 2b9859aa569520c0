# The tiny BTDNet with the existence head of btdnet_tiny_synthetic_notarget.py on synthetic
# NWPU-Refer data (synthetic_nwpu_refer.py), whose no-target and multi-target expressions are
# part of the dataset. A quarter of the samples are no-target: present_weight 1/3 = r / (1 - r).
_base_ = [
    './btdnet_tiny_synthetic.py', '../_base_/models/existence_head.py',
    '../_base_/datasets/synthetic_nwpu_refer.py'
]
train_dataloader = dict(dataset=_base_.nwpu_refer)
val_dataloader = dict(dataset=_base_.nwpu_refer)
test_dataloader = dict(dataset=_base_.nwpu_refer)
model = dict(
    type='ExistenceEncoderDecoder',
    existence_head=dict(
        _base_.existence_head, in_channels=96, in_index=2, channels=48, text_channels=64,
        query_output='target_prototype', query_channels=48, present_weight=1 / 3))
