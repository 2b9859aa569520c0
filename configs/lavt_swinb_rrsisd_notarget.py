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
model = dict(
    existence_head=dict(
        type='ExistenceHead',
        in_channels=1024,
        in_index=-1,
        channels=256,
        text_channels=768,
        threshold=0.5,
        loss_weight=1.0))
