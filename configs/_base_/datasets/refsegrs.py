# RefSegRS: 512x512 tif images; one sample per expression line. The key-phrase masker marks the
# object's name for models that use masked text (BTDNet); others ignore it.
dataset_type = 'RefSegRSDataset'
data_root = 'data/RefSegRS'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='KeyPhraseMasker', backend='nltk'),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    dict(type='KeyPhraseMasker', backend='nltk'),
    dict(type='PackReferringInputs'),
]
# The paper schedule is epoch based, so the train sampler must end each epoch (an
# InfiniteSampler would make the first epoch endless); iteration-based configs override it.
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
# MMSeg's convention: scored at each image's original size. The paper configs
# (btdnet_swinb_*.py) set eval_resolution='input', the LAVT lineage's protocol.
val_evaluator = dict(type='RRSISMetric', eval_resolution='original', per_category=True)
test_evaluator = val_evaluator
