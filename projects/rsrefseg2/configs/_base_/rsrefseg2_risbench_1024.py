# RSRefSeg 2's data handling (see rsrefseg2_refsegrs_1024.py) on RISBench: its 512² images go
# to 1,024² (the masks, 0/255 PNGs, kept where > 0), checkpoint chosen on val.
_base_ = '../../../../configs/_base_/datasets/risbench.py'
long_side = (1024, 1024)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='Resize', scale=long_side, keep_ratio=True),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=long_side, keep_ratio=True),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(type='RRSISMetric', eval_resolution='original')
test_evaluator = val_evaluator
