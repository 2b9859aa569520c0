# BTDNet on RefSegRS, the paper's recipe: 512x512, 20 tokens, AdamW (1e-5 on Swin and BERT,
# 1e-4 elsewhere), weight decay 0.01 (none on norms, position tables and prompts, see
# schedule_50e.py), poly 0.9 to 0 over 50 epochs, batch 2 x 4 GPUs.
_base_ = [
    '../_base_/models/btdnet_swinb_bert.py', '../_base_/datasets/refsegrs.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50e.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
# Scored as the paper's tables (LAVT lineage): argmax of the 512x512 logits against the GT
# resized (nearest) to 512x512. eval_resolution='original' scores at the image's own size.
val_evaluator = dict(type='RRSISMetric', eval_resolution='input', per_category=True)
test_evaluator = val_evaluator
