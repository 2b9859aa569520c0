# FIANet on RefSegRS with the code's recipe: 480x480, 20 tokens, one TMEM block, AdamW 5e-5
# (weight decay 0.01, none on the Swin's and TMEM's norms and position tables), poly per
# iteration over 60 epochs, batch 8 on one GPU (batch_size is per GPU: with N GPUs set it to
# 8 / N, and mind that the summed Dice loss then runs per GPU), best val oIoU, scored at 480.
_base_ = [
    './_base_/fianet_swinb_bert.py', './_base_/fianet_refsegrs_480.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
max_epochs = 60
model = dict(data_preprocessor=dict(max_length=20), neck=dict(num_blocks=1))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
param_scheduler = [
    dict(type='LambdaPolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
randomness = dict(seed=2401)
auto_scale_lr = dict(enable=False, base_batch_size=8)
