# The tiny RMSIN at 128 px input (stage-4 map 4 x 4, hence the CIM grid): the input size of the
# text-dependence runs in the main README (tools/analysis/text_dependence.py --input-size 128).
_base_ = './rmsin_tiny_synthetic.py'
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(vision=dict(pretrain_img_size=crop_size[0])),
    neck=dict(grid=(4, 4)))
