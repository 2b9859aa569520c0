# LAVT on RRSIS-D that also says when the expression's object is absent (not in LAVT): the
# LAVT recipe plus an existence head on the pooled text and the top-level (language-fused)
# features, and 30 % sampled no-target samples in train, val and test (NoTargetDataset: an
# expression of another image whose category none of that image's annotations in
# instances.json has). The annotations cover the referred objects only, so an unreferred
# object of the category can make a sampled negative wrong (see NoTargetDataset).
_base_ = './lavt_swinb_rrsisd.py'
no_target = dict(type='NoTargetDataset', ratio=0.3)
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
        in_channels=1024,
        in_index=-1,
        channels=256,
        text_channels=768,
        mask_evidence=True,
        token_matching=True,
        detach_inputs=True,
        present_weight=3 / 7,
        threshold=0.5,
        loss_weight=1.0))
