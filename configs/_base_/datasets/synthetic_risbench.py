# Synthetic RISBench-format data made by
#     python tools/dataset_converters/make_synthetic.py risbench data/synthetic_risbench \
#         --num-images N --seed S --size 64
# on the iteration-based pipeline of synthetic_refsegrs.py; masks kept where > 0 (the writer
# makes one 0/1 mask, as some real masks are).
_base_ = './synthetic_refsegrs.py'
dataset_type = 'RISBenchDataset'
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
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
