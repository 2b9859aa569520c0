# RISBench with the LAVT-lineage pipeline at 512 (risbench_lavt.py) plus FIANet's text
# decoupling over RISBench's 26 class names and the black squares the code pastes on the
# original image of a fixed 20 % of the training refs before the resize.
_base_ = ['../../../../configs/_base_/datasets/risbench_lavt.py', './fianet_meta_keys.py']
crop_size = (512, 512)
decoupler = dict(type='FIANetTextDecoupler', categories='risbench')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='RandomBlackBoxes', ratio=0.2, num_boxes=(20, 60), box_size=32, seed=2401),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    decoupler,
    dict(type='PackReferringInputs', meta_keys=_base_.fianet_meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
