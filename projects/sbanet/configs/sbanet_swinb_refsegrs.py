# SBANet on RefSegRS with the LAVT/RMSIN recipe (a choice: the paper's recipe was not
# found): 480x480, 20 tokens, no flips, AdamW 5e-5 (weight decay 0.01, none on the Swin's
# norms and position tables), BERT's embeddings and layers 10-11 fixed, poly per iteration
# over 40 epochs, batch 2 x 4 GPUs, best val oIoU, scored at 480.
_base_ = [
    './_base_/sbanet_swinb_bert.py', '../../../configs/_base_/datasets/refsegrs_480.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/schedule_40e_lavt.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
