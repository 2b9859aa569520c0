# BTDNet on RRSIS-HR with its RRSIS-D recipe (btdnet_swinb_rrsisd.py: 512x512 with the key-phrase
# masker, scored at 512, 50 epochs), not the 480 protocol of rrsishr.py, as on RRSIS-D.
_base_ = './btdnet_swinb_rrsisd.py'
rrsishr = dict(type='RRSISHRDataset', data_root='data/RRSIS-HR')
train_dataloader = dict(dataset=rrsishr)
val_dataloader = dict(dataset=rrsishr)
test_dataloader = dict(dataset=rrsishr)
