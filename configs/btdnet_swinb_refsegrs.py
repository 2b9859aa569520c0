# BTDNet on RefSegRS, the paper's recipe: 512x512, 20 tokens, AdamW (1e-5 encoders, 1e-4 rest),
# weight decay 0.01, poly 0.9 over 50 epochs, batch 2 x 4 GPUs.
_base_ = [
    './_base_/models/btdnet_swinb_bert.py', './_base_/datasets/refsegrs.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]
key_phrase = dict(type='KeyPhraseMasker', backend='nltk')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    key_phrase,
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='LoadReferringAnnotations'),
    key_phrase,
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'backbone.vision': dict(lr_mult=0.1),
        'backbone.text': dict(lr_mult=0.1),
        'backbone.fusions': dict(lr_mult=1.0),
    }))
auto_scale_lr = dict(enable=False, base_batch_size=8)
