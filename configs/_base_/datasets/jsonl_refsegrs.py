# RefSegRS read from RSRefSeg2's JSONL files (data/RefSegRS/datainfo/refsegrs_<split>.jsonl, as
# DiCoR ships them; images under images/), with the published (LAVT-lineage) protocol of
# refsegrs_480.py: 480x480, scored at 480, checkpoint chosen on val.
_base_ = './refsegrs_480.py'
dataset_type = 'ReferringJsonlDataset'
source = dict(type=dataset_type, dataset='refsegrs')
train_dataloader = dict(dataset=source)
val_dataloader = dict(dataset=source)
test_dataloader = dict(dataset=source)
