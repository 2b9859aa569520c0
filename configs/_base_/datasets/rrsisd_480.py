# RRSIS-D with the LAVT-lineage pipeline of refsegrs_480.py.
_base_ = './refsegrs_480.py'
dataset_type = 'RRSISDDataset'
data_root = 'data/RRSIS-D'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
