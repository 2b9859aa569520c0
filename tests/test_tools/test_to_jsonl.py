"""tools/dataset_converters/to_jsonl.py: a dataset written as JSONL reads back through
ReferringJsonlDataset as the same samples (texts, ids, pixel-exact masks, categories)."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from mmrrsis.datasets import ReferringJsonlDataset
from mmrrsis.datasets.synthetic import make_refsegrs, make_risbench, make_rrsisd
from mmrrsis.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'to_jsonl.py')
SOURCES = {
    'refsegrs': ('RefSegRSDataset', make_refsegrs, 50),
    'rrsisd': ('RRSISDDataset', make_rrsisd, 50),
    'risbench': ('RISBenchDataset', make_risbench, 0),
}


def load_tool():
    spec = importlib.util.spec_from_file_location('to_jsonl', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def _pipeline(threshold):
    return [dict(type='LoadReferringImage'),
            dict(type='LoadReferringAnnotations', mask_threshold=threshold),
            dict(type='PackReferringInputs')]


def _assert_same_samples(source, read_back):
    assert len(source) == len(read_back)
    for i in range(len(source)):
        a, b = source.get_data_info(i), read_back.get_data_info(i)
        assert a['expression'] == b['expression']
        assert a['image_id'] == b['image_id'] and type(a['image_id']) is type(b['image_id'])
        assert a['img_path'] == b['img_path']
        assert a['category'] == b['category']
        assert a.get('ann_id') == b.get('ann_id')
        assert a.get('has_target', True) == b.get('has_target', True)
        np.testing.assert_array_equal(source[i]['data_samples'].gt_sem_seg.data.numpy(),
                                      read_back[i]['data_samples'].gt_sem_seg.data.numpy())


@pytest.mark.parametrize('name', list(SOURCES))
def test_round_trip_from_a_dataset_type(name, tmp_path, capsys):
    dataset_type, writer, threshold = SOURCES[name]
    root, out = str(tmp_path / 'data'), str(tmp_path / 'datainfo')
    writer(root, 6, seed=3, size=48)
    tool.main([dataset_type, out, '--data-root', root])
    printed = capsys.readouterr().out
    assert f"ann_file='{osp.join(out, name)}_{{split}}.jsonl'" in printed
    for split in ('train', 'val', 'test'):
        source = DATASETS.build(dict(type=dataset_type, data_root=root, split=split,
                                     pipeline=_pipeline(threshold)))
        read_back = ReferringJsonlDataset(
            data_root=root, split=split, dataset=name,
            ann_file=osp.join(out, name + '_{split}.jsonl'), pipeline=_pipeline(0))
        _assert_same_samples(source, read_back)
    with open(osp.join(out, f'{name}_train.jsonl')) as f:
        line = json.loads(f.readline())
    assert isinstance(line['segmentation'], list if name == 'rrsisd' else dict)


def test_round_trip_from_a_config_with_no_target_samples(tmp_path):
    root, out = str(tmp_path / 'data'), str(tmp_path / 'datainfo')
    make_refsegrs(root, 8, seed=5, size=48, no_target_share=0.3)
    config = tmp_path / 'refsegrs_notarget.py'
    loaders = '\n'.join(
        f"{split}_dataloader = dict(dataset=dict(type='NoTargetDataset', "
        f"negatives_file='no_target.json', dataset=dict(type='RefSegRSDataset', "
        f"data_root={root!r}, split={split!r}, pipeline=[])))"
        for split in ('train', 'val', 'test'))
    config.write_text(loaders + '\n')
    tool.main([str(config), out, '--splits', 'train', '--name', 'refsegrs'])
    source = DATASETS.build(dict(
        type='NoTargetDataset', negatives_file='no_target.json',
        dataset=dict(type='RefSegRSDataset', data_root=root, split='train',
                     pipeline=_pipeline(50))))
    read_back = ReferringJsonlDataset(data_root=root, split='train', dataset='refsegrs',
                                      ann_file=osp.join(out, 'refsegrs_train.jsonl'),
                                      pipeline=_pipeline(0))
    assert sum(not read_back.get_data_info(i).get('has_target', True)
               for i in range(len(read_back))) == len(source.negatives) > 0
    _assert_same_samples(source, read_back)


def test_a_dataset_type_needs_a_data_root(tmp_path):
    with pytest.raises(SystemExit):
        tool.main(['RISBenchDataset', str(tmp_path)])
