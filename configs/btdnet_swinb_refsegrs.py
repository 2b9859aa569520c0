# BTDNet on RefSegRS, the paper's recipe: 512x512, 20 tokens, AdamW (1e-5 on Swin and BERT,
# 1e-4 elsewhere), weight decay 0.01, poly 0.9 to 0 over 50 epochs, batch 2 x 4 GPUs.
_base_ = [
    './_base_/models/btdnet_swinb_bert.py', './_base_/datasets/refsegrs.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
