# RRSIS-D: 800x800 JPEGs resized to 512x512; RLE masks; one sample per sentence.
# Same pipelines and loaders as RefSegRS.
_base_ = './refsegrs.py'
dataset_type = 'RRSISDDataset'
data_root = 'data/RRSIS-D'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
