# Synthetic RefSegRS-format data made by tools/dataset_converters/make_synthetic.py;
# small images so a tiny model trains on a CPU in minutes.
_base_ = './refsegrs.py'
data_root = 'data/synthetic_refsegrs'
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    # flips rewrite left/right (top/bottom) in the expression, so they stay true
    dict(type='ReferringRandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]
# Iteration-based schedule: an endless sampler that resumes by index (see
# ResumableIterBasedTrainLoop in schedules/schedule_synthetic.py).
train_dataloader = dict(
    batch_size=8, num_workers=1,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
