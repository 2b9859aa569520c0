# FIANet on RRSIS-D with the code's recipe: 480x480, 22 tokens, three TMEM blocks, black squares
# on 20 % of the training refs, AdamW 3e-5 (weight decay 0.01, none on the Swin's and TMEM's
# norms and position tables), poly per iteration over 40 epochs, batch 8 on one GPU, best val
# oIoU, scored at 480.
# Total batch 8 on one GPU; on N GPUs set train_dataloader.batch_size to 8 / N and mind that the
# summed Dice term then runs per GPU (projects/fianet/README.md, Equal to the reference).
_base_ = [
    './_base_/fianet_swinb_bert.py', './_base_/fianet_rrsisd_480.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
model = dict(data_preprocessor=dict(max_length=22), neck=dict(num_blocks=3))
optim_wrapper = dict(optimizer=dict(lr=3e-5))
randomness = dict(seed=2401)
auto_scale_lr = dict(enable=False, base_batch_size=8)
