# Tiny BTDNet that also says when the expression's object is absent: an existence head on the
# target prototype p_fg (ExistenceHead, query_from the T-BTD head's fg_proj), trained next to
# the mask losses on the synthetic data's exact no-target expressions, which
#     python tools/dataset_converters/make_synthetic.py refsegrs data/synthetic_refsegrs \
#         --num-images N --seed S --size 64 --no-target-share 0.3
# writes to no_target.json. Train, val and test each add their own split's entries.
_base_ = './btdnet_tiny_synthetic.py'
no_target = dict(type='NoTargetDataset', negatives_file='no_target.json')
train_dataloader = dict(
    dataset=dict(_delete_=True, dataset={{_base_.train_dataloader.dataset}}, **no_target))
val_dataloader = dict(
    dataset=dict(_delete_=True, dataset={{_base_.val_dataloader.dataset}}, **no_target))
test_dataloader = dict(
    dataset=dict(_delete_=True, dataset={{_base_.test_dataloader.dataset}}, **no_target))
# The head also reads the decode head's mask (mask_evidence) and every word of the text
# (token_matching); detach_inputs keeps its loss out of the rest of the model, and
# present_weight = 0.3 / 0.7 weighs the 30 % no-target samples like the others.
model = dict(
    existence_head=dict(
        type='ExistenceHead',
        in_channels=96,
        in_index=2,
        channels=48,
        text_channels=64,
        query_from='decode_head.fg_proj',
        query_channels=48,
        mask_evidence=True,
        token_matching=True,
        detach_inputs=True,
        present_weight=3 / 7,
        threshold=0.5,
        loss_weight=1.0))
