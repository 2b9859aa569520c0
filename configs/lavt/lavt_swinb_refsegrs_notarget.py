# LAVT on RefSegRS that also says when the expression's object is absent (not in LAVT): the
# LAVT recipe plus an existence head on the pooled text and the top-level (language-fused)
# features, and 30 % sampled no-target samples in train, val and test (NoTargetDataset: an
# expression of another image whose category that image's expressions never name). RefSegRS
# has no category field, so the categories an image holds are those its expressions name; an
# unreferred object of the category can make a sampled negative wrong (see NoTargetDataset).
# A vehicle is also a car, a van...; road markings lie on roads: those categories count as
# present together.
_base_ = './lavt_swinb_refsegrs.py'
no_target = dict(
    type='NoTargetDataset',
    ratio=0.3,
    related_categories=[('vehicle', 'car', 'van', 'truck', 'trailer', 'bus'),
                        ('road', 'road marking')])
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
