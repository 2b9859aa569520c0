# The tiny BTDNet of btdnet_tiny_synthetic.py on synthetic RISBench-format data
# (make_synthetic.py risbench data/synthetic_risbench --num-images N --size 64), read as
# synthetic_risbench.py reads it; the key phrase found with the category lexicon as there.
_base_ = './btdnet_tiny_synthetic.py'
data_root = 'data/synthetic_risbench'
key_phrase = dict(type='KeyPhraseMasker', backend='lexicon')
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    key_phrase,
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=_base_.crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    key_phrase,
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(
    dataset=dict(type='RISBenchDataset', data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='RISBenchDataset', data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
