# RRSIS-D with 30 % sampled no-target samples in train, val and test, for the _notarget
# configs (NoTargetDataset around each split: an expression of another image whose category
# none of that image's annotations in instances.json has). The annotations cover the referred
# objects only, so an unreferred object of the category can make a sampled negative wrong (see
# NoTargetDataset). A config wraps its own datasets:
# dataset=dict(_delete_=True, dataset=<its dataset>, **no_target).
no_target = dict(type='NoTargetDataset', ratio=0.3)
