# FIANet (Lei et al., TGRS 2025) as its published code computes it, on the LAVT skeleton:
# Swin-B (window 12, IN-22K) with a FIAM after the blocks of every stage (context-only at the
# last stage, whose residual feeds nothing), BERT-base run three times (whole expression,
# ground-object part, spatial-position part), TMEM as a neck and LAVT's "simple decoding" head,
# trained with 0.9 x weighted cross-entropy + 0.1 x the code's softmax Dice.
_base_ = ['../../../../configs/_base_/models/lavt_swinb_bert.py']
custom_imports = dict(imports=['projects.fianet.fianet'], allow_failed_imports=False)
fiam = dict(type='FIAM', num_heads=1, dropout=0.0)
fiam_context_only = dict(
    fiam, last_stage=True, with_object=False, with_position=False, with_channel_mod=False)
# BERT's passes over the ground-object and spatial-position parts, read by the FIAMs
object_pass = dict(name='object_mask', mask='object_mask', to_fusions=True)
position_pass = dict(name='position_mask', mask='position_mask', to_fusions=True)
model = dict(
    data_preprocessor=dict(
        max_length=20,
        # the code slices the WordPiece ids to Nt, losing [SEP] on long expressions
        truncation='slice',
        span_masks=dict(object_mask='object_spans', position_mask='position_spans'),
        # no spatial-position phrase: the position pass attends to the whole expression
        span_mask_fallbacks=dict(position_mask='attention_mask')),
    backbone=dict(
        text_passes=[object_pass, position_pass],
        fusion=[fiam, fiam, fiam, fiam_context_only]),
    neck=dict(type='TMEM', in_channels=[128, 256, 512, 1024], text_channels=768, num_blocks=1),
    decode_head=dict(dropout_ratio=0.0, loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1],
             loss_weight=0.9),
        # the code sums the Dice terms over samples and classes, so the loss grows with the
        # batch; batch_reduction='mean' makes it batch-size independent
        dict(type='SoftmaxDiceLoss', eps=1e-6, class_reduction='sum', batch_reduction='sum',
             loss_weight=0.1),
    ]))
