# NWPU-Refer (MRSNet): 1024-2048 px JPEGs, REFER-style files with polygon masks; one sample per
# English expression, the refs sharing one on an image merged into a union mask (multi-target),
# the `no target` refs kept with an empty mask and has_target=False (NWPUReferDataset).
# MRSNet's protocol is not published; this follows the LAVT lineage (our choice): plain resize
# to 480x480, IoU at the 480x480 input, checkpoint chosen on val, test reported. RRSISMetric adds
# N-acc, T-acc, gIoU and cIoU since the splits hold no-target samples.
_base_ = './refsegrs_480.py'
dataset_type = 'NWPUReferDataset'
data_root = 'data/NWPU-Refer'
nwpu_refer = dict(type=dataset_type, data_root=data_root, language='en',
                  merge_multi_target=True)
train_dataloader = dict(dataset=nwpu_refer)
val_dataloader = dict(dataset=nwpu_refer)
test_dataloader = dict(dataset=nwpu_refer)
