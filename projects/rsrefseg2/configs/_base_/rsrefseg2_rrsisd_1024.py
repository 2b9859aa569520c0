# RSRefSeg 2's data handling (see rsrefseg2_refsegrs_1024.py) on RRSIS-D, scored per category
# too (the reference's mean_iou averages over categories).
_base_ = './rsrefseg2_refsegrs_1024.py'
dataset_type = 'RRSISDDataset'
data_root = 'data/RRSIS-D'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_evaluator = dict(per_category=True)
test_evaluator = val_evaluator
