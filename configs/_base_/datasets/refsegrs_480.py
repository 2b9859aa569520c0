# RefSegRS as the LAVT-lineage code reads it: plain resize to 480x480 (PIL's bilinear filter,
# as torchvision's Resize on PIL images there), no flips, scored at the network input size.
# No key-phrase masking: these models read the whole expression only.
_base_ = './refsegrs.py'
crop_size = (480, 480)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]
# the reference's DataLoader(drop_last=True): an epoch is floor(samples / batch) iterations,
# which also sets the length of the per-iteration poly schedule
train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(type='RRSISMetric', eval_resolution='input', per_category=True)
test_evaluator = val_evaluator
