_base_ = '../../../../configs/_base_/datasets/refsegrs.py'
# RSRefSeg 2's data handling on RefSegRS: the longer side resized to 1,024 (bilinear image,
# nearest mask), no augmentation, the preprocessor pads to 1,024² (image 0, mask 255); at test
# time the mask is loaded after the resize, so the metric scores at the original size. Batch 8
# per GPU.
long_side = (1024, 1024)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=long_side, keep_ratio=True),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=long_side, keep_ratio=True),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(type='RRSISMetric', eval_resolution='original')
test_evaluator = val_evaluator
