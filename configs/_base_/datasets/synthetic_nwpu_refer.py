# Synthetic NWPU-Refer-format data made by
#     python tools/dataset_converters/make_synthetic.py nwpu_refer data/synthetic_nwpu_refer \
#         --num-images N --seed S --size 64
# (a quarter of its English expressions are no-target, a quarter multi-target). A tiny config
# puts it in place of its synthetic RefSegRS data, keeping its pipelines and loaders:
# train_dataloader = dict(dataset=_base_.nwpu_refer), likewise val and test.
nwpu_refer = dict(type='NWPUReferDataset', data_root='data/synthetic_nwpu_refer', language='en',
                  merge_multi_target=True)
