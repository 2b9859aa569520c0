# rsrefseg2_sam2l-siglip2_rrsisd.py trained as the reference does, with mmengine's FlexibleRunner
# and DeepSpeed ZeRO-2 (bf16 weights with fp32 masters of the trainable ones, gradient norm
# clipped at 3). Needs `pip install deepspeed` and a launcher (tools/dist_train.sh); untested
# here (no GPU).
_base_ = './rsrefseg2_sam2l-siglip2_rrsisd.py'
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    gradient_clipping=3.0,
    inputs_to_half=['inputs'],
    zero_optimization=dict(stage=2, allgather_partitions=True, allgather_bucket_size=2e8,
                           reduce_scatter=True, reduce_bucket_size='auto', overlap_comm=True,
                           contiguous_gradients=True))
optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
