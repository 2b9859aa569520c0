# The existence head of the _notarget configs (not in the papers): says whether the
# expression's object is in the image at all. It also reads the decode head's mask
# (mask_evidence) and every word of the text (token_matching); detach_inputs keeps its loss out
# of the rest of the model, and present_weight = 0.3 / 0.7 weighs the 30 % no-target samples
# like the others. A config adds the widths and the level of the features it reads.
existence_head = dict(
    type='ExistenceHead',
    mask_evidence=True,
    token_matching=True,
    detach_inputs=True,
    present_weight=3 / 7,
    threshold=0.5,
    loss_weight=1.0)
