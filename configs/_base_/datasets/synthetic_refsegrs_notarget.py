# The synthetic data's exact no-target expressions, which
#     python tools/dataset_converters/make_synthetic.py refsegrs data/synthetic_refsegrs \
#         --num-images N --seed S --size 64 --no-target-share 0.3
# writes to no_target.json; train, val and test each add their own split's entries. A config
# wraps its own datasets: dataset=dict(_delete_=True, dataset=<its dataset>, **no_target).
no_target = dict(type='NoTargetDataset', negatives_file='no_target.json')
