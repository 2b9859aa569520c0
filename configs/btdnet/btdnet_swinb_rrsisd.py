# BTDNet on RRSIS-D, the paper's recipe: 512x512, 20 tokens, AdamW (1e-5 on Swin and BERT,
# 1e-4 elsewhere), weight decay 0.01 (none on norms, position tables and prompts, see
# schedule_50e.py and below), poly 0.9 to 0 over 50 epochs, batch 2 x 4 GPUs.
_base_ = [
    '../_base_/models/btdnet_swinb_bert.py', '../_base_/datasets/rrsisd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50e.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
# BTDNet's own parameters that do not decay (see schedule_50e.py): BSC's gate norms, g_v's
# InstanceNorm2d (gate_v.1) and g_l's TokenInstanceNorm (gate_l_norm, a plain nn.Module that
# mmengine would not take for a norm), named with their stage so that the keys are longer than
# 'backbone.fusions'; TBTDHead's level embeddings and background prompts.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    **{f'fusions.{i}.{norm}': dict(lr_mult=1.0, decay_mult=0.0)
       for i in range(4) for norm in ('gate_v.1', 'gate_l_norm')},
    'decode_head.level_embed': dict(decay_mult=0.0),
    'decode_head.bg_prompts': dict(decay_mult=0.0),
}))
# Scored as the paper's tables (LAVT lineage): argmax of the 512x512 logits against the GT
# resized (nearest) to 512x512. eval_resolution='original' scores at the image's own size.
val_evaluator = dict(type='RRSISMetric', eval_resolution='input', per_category=True)
test_evaluator = val_evaluator
