"""The NWPU-Refer and RRSIS-HR configs change only the dataset (and, for NWPU-Refer's _notarget
configs, add the existence head) relative to their RRSIS-D / synthetic parents."""
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# child -> (parent, the dataset type the child reads)
PAIRS = {
    'btdnet/btdnet_swinb_nwpu-refer_notarget.py': ('btdnet/btdnet_swinb_rrsisd.py',
                                                   'NWPUReferDataset'),
    'lavt/lavt_swinb_nwpu-refer_notarget.py': ('lavt/lavt_swinb_rrsisd.py', 'NWPUReferDataset'),
    'btdnet/btdnet_tiny_synthetic-nwpu-refer_notarget.py': ('btdnet/btdnet_tiny_synthetic.py',
                                                            'NWPUReferDataset'),
    'lavt/lavt_tiny_synthetic-nwpu-refer_notarget.py': ('lavt/lavt_tiny_synthetic.py',
                                                        'NWPUReferDataset'),
    'btdnet/btdnet_swinb_rrsishr.py': ('btdnet/btdnet_swinb_rrsisd.py', 'RRSISHRDataset'),
    'lavt/lavt_swinb_rrsishr.py': ('lavt/lavt_swinb_rrsisd.py', 'RRSISHRDataset'),
}
DATASET_KEYS = ('type', 'data_root', 'language', 'merge_multi_target')


def load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name)).to_dict()


@pytest.mark.parametrize('child', sorted(PAIRS))
def test_child_changes_only_the_dataset_and_the_head(child):
    parent_name, dataset_type = PAIRS[child]
    parent, cfg = load(parent_name), load(child)
    for loader, split in zip(LOADERS, ('train', 'val', 'test')):
        dataset = cfg[loader]['dataset']
        assert dataset['type'] == dataset_type and dataset['split'] == split
        assert 'NoTargetDataset' not in str(cfg[loader])
        if dataset_type == 'NWPUReferDataset':
            assert dataset['language'] == 'en' and dataset['merge_multi_target']
        for key in DATASET_KEYS:
            dataset.pop(key, None)
            parent[loader]['dataset'].pop(key, None)
    if child.endswith('_notarget.py'):
        assert cfg['model'].pop('type') == 'ExistenceEncoderDecoder'
        assert parent['model'].pop('type') == 'ReferringEncoderDecoder'
        head = cfg['model'].pop('existence_head')
        assert head['type'] == 'ExistenceHead' and head['threshold'] == 0.5
        assert head['present_weight'] == (1 / 3 if 'tiny' in child else 3 / 7)
        assert (head.get('query_output') == 'target_prototype') == child.startswith('btdnet')
    for key in ('existence_head', 'nwpu_refer', 'rrsishr', 'dataset_type', 'data_root'):
        cfg.pop(key, None)
        parent.pop(key, None)
    assert cfg == parent
