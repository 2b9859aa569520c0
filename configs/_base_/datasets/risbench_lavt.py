# RISBench with the LAVT-lineage pipeline of refsegrs_480.py (PIL bilinear resize, no flips, no
# key-phrase masking) at LSCF's 512x512 instead of 480 (our choice for the LAVT, RMSIN, FIANet
# and SBANet configs: their papers do not report RISBench; DiCoR's 480 protocol is
# refsegrs_480.py's pipeline with this dataset). Scored at 512 = the original size.
_base_ = './risbench.py'
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False, backend='pillow'),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False, backend='pillow'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
