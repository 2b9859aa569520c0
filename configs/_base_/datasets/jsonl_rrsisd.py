# RRSIS-D read from RSRefSeg2's JSONL files (data/RRSIS-D/datainfo/rrsisd_<split>.jsonl, images
# under images/rrsisd/JPEGImages/), with the published (LAVT-lineage) protocol of
# rrsisd_480.py: 480x480, scored at 480, checkpoint chosen on val. DiCoR ships val and test
# only; make train with tools/dataset_converters/to_jsonl.py.
_base_ = './rrsisd_480.py'
dataset_type = 'ReferringJsonlDataset'
source = dict(type=dataset_type, dataset='rrsisd')
train_dataloader = dict(dataset=source)
val_dataloader = dict(dataset=source)
test_dataloader = dict(dataset=source)
