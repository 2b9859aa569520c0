# RRSIS-D with the pipeline of fianet_refsegrs_480.py, RRSIS-D's lexicon, and black squares
# pasted on the original image of a fixed 20 % of the training refs before the resize.
_base_ = ['../../../../configs/_base_/datasets/rrsisd_480.py', './fianet_meta_keys.py']
crop_size = (480, 480)
decoupler = dict(type='FIANetTextDecoupler', categories='rrsisd')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='RandomBlackBoxes', ratio=0.2, num_boxes=(20, 60), box_size=32, seed=2401),
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
