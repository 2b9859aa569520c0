# RefSegRS with the LAVT-lineage pipeline (plain 480x480 resize, no flips, scored at 480) plus
# FIANet's text decoupling; batch 8 on one GPU, as the code trains.
_base_ = ['../../../../configs/_base_/datasets/refsegrs_480.py', './fianet_meta_keys.py']
crop_size = (480, 480)
decoupler = dict(type='FIANetTextDecoupler', categories='refsegrs')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    dict(type='LoadReferringAnnotations'),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
