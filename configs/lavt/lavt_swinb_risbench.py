# LAVT on RISBench. LAVT's paper predates RISBench: this keeps the LAVT/RMSIN recipe (AdamW 5e-5,
# weight decay 0.01, poly per iteration, best val oIoU) and takes LSCF's RISBench recipe where
# that is silent (our choices): 512x512, scored at 512, 50 epochs, batch 4 x 4 GPUs; 50 tokens,
# since RISBench's sentences are long (DiCoR allows 50 there, 20 elsewhere).
_base_ = [
    '../_base_/models/lavt_swinb_bert.py', '../_base_/datasets/risbench_lavt.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_lavt.py'
]
max_epochs = 50
model = dict(data_preprocessor=dict(max_length=50, size=(512, 512)))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
