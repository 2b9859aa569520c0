# RRSIS-HR (CADFormer): 1024x1024 JPEGs in RRSIS-D's REFER layout under the key rrsishr, one
# sample per sentence, categories read from instances.json. CADFormer's protocol: plain resize
# to 480x480 (image bilinear, GT nearest), IoU at the 480x480 input, the checkpoint with the
# best val oIoU kept; which split its tables report is not published (test is scored here).
# No key-phrase masking (LAVT-lineage models read the whole expression).
_base_ = './refsegrs_480.py'
dataset_type = 'RRSISHRDataset'
data_root = 'data/RRSIS-HR'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
