# Loss variant: the softmax Dice averaged over the batch instead of summed (the code's sum
# grows with the batch size), everything else as fianet_swinb_refsegrs.py.
_base_ = '../fianet_swinb_refsegrs.py'
model = dict(decode_head=dict(loss_decode=[
    dict(type='CrossEntropyLoss', use_sigmoid=False, class_weight=[0.9, 1.1], loss_weight=0.9),
    dict(type='SoftmaxDiceLoss', eps=1e-6, class_reduction='sum', batch_reduction='mean',
         loss_weight=0.1),
]))
