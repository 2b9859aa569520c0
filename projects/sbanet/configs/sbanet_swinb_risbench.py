# SBANet on RISBench with LSCF's RISBench recipe (a choice: SBANet's own recipe was not found,
# see sbanet_swinb_rrsisd.py): 512x512, scored at 512, 50 epochs, batch 4 x 4 GPUs, AdamW 3e-5
# (weight decay 0.01, none on the Swin's norms and position tables), poly per iteration, best
# val oIoU; BERT's embeddings and layers 10-11 fixed as in the RRSIS-D config; 50 tokens, since
# RISBench's sentences are long (DiCoR allows 50 there, 20 elsewhere).
_base_ = [
    './_base_/sbanet_swinb_bert.py', '../../../configs/_base_/datasets/risbench_lavt.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
max_epochs = 50
model = dict(data_preprocessor=dict(max_length=50, size=(512, 512)))
optim_wrapper = dict(optimizer=dict(lr=3e-5))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
