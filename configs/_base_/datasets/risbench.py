# RISBench (CroBIM): 512x512 PNGs, one sample per phrase-file line, masks 0/255 kept where > 0.
# LSCF's protocol (the one with a published val and test): 512x512 input, scored at 512, which
# is every image's own size, so eval_resolution 'input' and 'original' agree; the checkpoint is
# chosen on val, test (16,159 expressions) is reported. Batch 4 per GPU x 4 GPUs as LSCF.
# The key-phrase masker (BTDNet) looks for the 26 class names and the aliases of
# mmrrsis.datasets.RISBENCH_LEXICON (written out: configs do not import).
_base_ = './refsegrs.py'
dataset_type = 'RISBenchDataset'
data_root = 'data/RISBench'
crop_size = (512, 512)
risbench_key_phrases = [
    'expressway service area', 'expressway toll station', 'ground track field',
    'basketball court', 'container crane', 'roundabout', 'windmill', 'overpass', 'stadium',
    'bridge', 'soccer ball field', 'baseball diamond', 'train station', 'golf field', 'airport',
    'harbor', 'dam', 'ship', 'helipad', 'vehicle', 'chimney', 'airplane', 'helicopter',
    'tennis court', 'storage tank', 'swimming pool', 'plane', 'aircraft', 'small vehicle',
    'large vehicle', 'car', 'truck', 'bus', 'baseball field', 'tank', 'ground track and field',
    'track and field', 'soccer field', 'golf course', 'vessel', 'boat', 'dock', 'pier',
    'toll station', 'service area'
]
key_phrase = dict(type='KeyPhraseMasker', backend='nltk', categories=risbench_key_phrases)
train_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    key_phrase,
    dict(type='PackReferringInputs'),
]
test_pipeline = [
    dict(type='LoadReferringImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    key_phrase,
    dict(type='PackReferringInputs'),
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
val_evaluator = dict(type='RRSISMetric', eval_resolution='input', per_category=True)
test_evaluator = val_evaluator
