# RMSIN on RRSIS-D with the recipe of its published code: 480x480 (PIL bilinear), 20 tokens,
# random black boxes on a fixed 20 % of the training refs, AdamW 3e-5 for every group (weight
# decay 0.01, none on the Swin's norms and relative position tables), BERT's embeddings and
# layers 10-11 fixed, poly (power 0.9) per iteration over 40 epochs, batch 2 x 4 GPUs, the
# checkpoint with the best val oIoU kept, scored at 480 (the network input).
# Total batch 8 (batch_size is per GPU): on one GPU set train_dataloader.batch_size=8, or keep 2
# with optim_wrapper.accumulative_counts=4 (projects/rmsin/README.md, Equal to the reference).
_base_ = [
    './_base_/rmsin_swinb_bert.py', '../../../configs/_base_/datasets/rrsisd_480.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
crop_size = (480, 480)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    # on the original image, before the resize, as the reference
    dict(type='RandomBlackBoxes', ratio=0.2, num_boxes=(20, 60), box_size=32, seed=2401),
    dict(type='Resize', scale=crop_size, keep_ratio=False, backend='pillow'),
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(type='RRSISMetric', eval_resolution='input', per_category=True)
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=3e-5))
# nothing dead is built (the last stage's IIM is PWAM-only), so DDP needs no unused-parameter
# search
find_unused_parameters = False
auto_scale_lr = dict(enable=False, base_batch_size=8)
