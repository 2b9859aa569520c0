# The tiny LAVT of lavt_tiny_synthetic.py on synthetic RISBench-format data
# (make_synthetic.py risbench data/synthetic_risbench --num-images N --size 64).
_base_ = ['./lavt_tiny_synthetic.py']
data_root = 'data/synthetic_risbench'
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(
    dataset=dict(type='RISBenchDataset', data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='RISBenchDataset', data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
