# RISBench read from RSRefSeg2's JSONL files (data/RISBench/datainfo/risbench_<split>.jsonl,
# images under img_rgb/), with risbench.py's protocol. RSRefSeg2 ships train and test, DiCoR
# val and test: put the three files in datainfo/ (or make them with
# tools/dataset_converters/to_jsonl.py).
_base_ = './risbench.py'
dataset_type = 'ReferringJsonlDataset'
source = dict(type=dataset_type, dataset='risbench')
train_dataloader = dict(dataset=source)
val_dataloader = dict(dataset=source)
test_dataloader = dict(dataset=source)
