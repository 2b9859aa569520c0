"""ReferringJsonlDataset on synthetic RSRefSeg2 JSONL files of the three datasets."""
import json
import logging
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.logging import MMLogger
from pycocotools import mask as mask_utils

from mmrrsis.datasets import (REFSEGRS_CATEGORIES, RISBENCH_CATEGORIES, RRSISD_CATEGORIES,
                              ReferringJsonlDataset, RefSegRSDataset, RISBenchDataset,
                              RRSISDDataset)
from mmrrsis.datasets.jsonl import compressed_rle_runs, rle_problem
from mmrrsis.datasets.synthetic import make_jsonl

PIPELINE = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='PackReferringInputs'),
]
SOURCES = {
    'refsegrs': (RefSegRSDataset, REFSEGRS_CATEGORIES, 50),
    'rrsisd': (RRSISDDataset, RRSISD_CATEGORIES, 50),
    'risbench': (RISBenchDataset, RISBENCH_CATEGORIES, 0),
}


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp('jsonl')
    return {name: make_jsonl(str(root / name), 6, dataset=name, seed=4, size=48)
            for name in SOURCES}


def _gt(sample):
    return sample['data_samples'].gt_sem_seg.data[0].numpy()


def _decode(segmentation):
    rles = segmentation if isinstance(segmentation, list) else [segmentation]
    mask = mask_utils.decode(rles)
    return (mask.sum(axis=2) > 0).astype(np.int64)


@pytest.mark.parametrize('name', list(SOURCES))
def test_same_samples_as_the_source_layout(written, name):
    summary = written[name]
    source_type, categories, threshold = SOURCES[name]
    source_pipeline = [dict(PIPELINE[0]), dict(PIPELINE[1], mask_threshold=threshold),
                       dict(PIPELINE[2])]
    resized = set()
    for split in ('train', 'val', 'test'):
        lines = summary['jsonl_lines'][split]
        ds = ReferringJsonlDataset(data_root=summary['out_dir'], split=split, dataset=name,
                                   pipeline=PIPELINE)
        ref = source_type(data_root=summary['out_dir'], split=split, pipeline=source_pipeline)
        assert len(ds) == len(lines) == len(ref)
        assert ds.metainfo['categories'] == tuple(categories)
        for i, line in enumerate(lines):
            info, ref_info = ds.get_data_info(i), ref.get_data_info(i)
            assert info['image_id'] == line['image_id'] == ref_info['image_id']
            assert type(info['image_id']) is (int if name == 'rrsisd' else str)
            assert info['expression'] == line['sent'] == ref_info['expression']
            assert info['img_path'] == ref_info['img_path']
            assert info['category'] == ref_info['category']
            assert info.get('ann_id') == ref_info.get('ann_id')
            sample, decoded = ds[i], _decode(line['segmentation'])
            if decoded.shape == _gt(sample).shape:
                np.testing.assert_array_equal(_gt(sample), decoded)
            else:  # the RRSIS-D size defect: resized (nearest) to the image, as RRSISDDataset
                resized.add(osp.relpath(info['img_path'], summary['out_dir']))
            np.testing.assert_array_equal(_gt(sample), _gt(ref[i]))
            assert sample['data_samples'].metainfo['image_id'] == line['image_id']
    assert resized == set(summary['odd_size_images'])


@pytest.fixture
def logs():
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    yield lambda: [r.getMessage() for r in records]
    logger.removeHandler(handler)


def test_the_written_quirks(written, logs):
    rrsisd = written['rrsisd']['jsonl_lines']['train'][0]
    assert isinstance(rrsisd['segmentation'], list) and isinstance(rrsisd['image_id'], int)
    x1, y1, x2, y2 = rrsisd['bbox']
    assert x2 > x1 and y2 > y1  # corners
    assert rrsisd['area'] != mask_utils.area(rrsisd['segmentation'][0])
    assert isinstance(written['risbench']['jsonl_lines']['train'][0]['segmentation'], dict)
    refsegrs = written['refsegrs']
    with open(refsegrs['jsonl_files']['train']) as f:
        assert f.read().splitlines()[1] == ''  # a blank line, skipped and logged
    ds = ReferringJsonlDataset(data_root=refsegrs['out_dir'], dataset='refsegrs')
    assert len(ds) == len(refsegrs['jsonl_lines']['train'])
    assert any('1 blank line(s)' in m and 'first: line 2' in m for m in logs())
    ids = [line['image_id'] for split in ('train', 'val', 'test')
           for line in refsegrs['jsonl_lines'][split]]
    assert len(set(ids)) < len(ids)  # several expressions share an image id


@pytest.fixture
def copy_of(written, tmp_path):
    def copy(name):
        root = str(tmp_path / name)
        shutil.copytree(written[name]['out_dir'], root)
        return root
    return copy


def _rewrite(path, change):
    with open(path) as f:
        lines = [json.loads(t) for t in f if t.strip()]
    change(lines)
    with open(path, 'w') as f:
        f.writelines(json.dumps(line) + '\n' for line in lines)


def test_area_bbox_ignored_and_category_from_the_name_or_the_text(copy_of):
    root = copy_of('rrsisd')
    path = osp.join(root, 'datainfo', 'rrsisd_train.jsonl')
    with open(path) as f:
        first = json.loads(f.readline())

    def change(lines):
        lines[0].update(area=-5, bbox=[0, 0, 1, 1])
        lines[1].pop('category_name')
        lines[1].pop('category_id')
        lines[1]['sent'] = 'the white storagetank and a ship'
    _rewrite(path, change)
    ds = ReferringJsonlDataset(data_root=root, split='train', dataset='rrsisd',
                               pipeline=PIPELINE)
    np.testing.assert_array_equal(_gt(ds[0]), _decode(first['segmentation']))
    assert ds.get_data_info(0)['category'] == first['category_name']
    assert ds.get_data_info(1)['category'] == 'storagetank'  # longest name, RRSIS-D's rule


def test_uncompressed_counts_and_image_folder_as_data_root(copy_of):
    root = copy_of('risbench')
    path = osp.join(root, 'datainfo', 'risbench_test.jsonl')
    with open(path) as f:
        first = json.loads(f.readline())
    mask = _decode(first['segmentation']).astype(np.uint8)
    runs = compressed_rle_runs(first['segmentation']['counts'])
    assert sum(runs) == mask.size
    _rewrite(path, lambda lines: lines[0].update(segmentation=dict(size=[48, 48], counts=runs)))
    # RSRefSeg2's configs point data_root at the image folder itself
    ds = ReferringJsonlDataset(data_root=osp.join(root, 'img_rgb'), split='test',
                               img_prefix='', ann_file=path, pipeline=PIPELINE)
    assert ds.get_data_info(0)['img_path'] == osp.join(root, 'img_rgb', first['file_name'])
    np.testing.assert_array_equal(_gt(ds[0]), mask)


def test_has_target_extension(copy_of):
    root = copy_of('refsegrs')
    path = osp.join(root, 'datainfo', 'refsegrs_train.jsonl')
    _rewrite(path, lambda lines: lines[0].update(has_target=False))
    ds = ReferringJsonlDataset(data_root=root, split='train', dataset='refsegrs',
                               pipeline=PIPELINE)
    assert ds.get_data_info(0)['has_target'] is False
    assert 'has_target' not in ds.get_data_info(1)
    assert ds[0]['data_samples'].metainfo['has_target'] is False


def test_rle_problems_are_named():
    good = mask_utils.encode(np.asfortranarray(np.eye(5, dtype=np.uint8)))
    counts = good['counts'].decode('ascii')
    assert rle_problem(dict(size=[5, 5], counts=counts)) is None
    assert 'cover' in rle_problem(dict(size=[5, 6], counts=counts))
    assert 'not part of a compressed RLE' in rle_problem(dict(size=[5, 5], counts='ab~'))
    assert 'ends inside a run' in rle_problem(dict(size=[5, 5], counts=counts + 'h'))
    assert 'size' in rle_problem(dict(size=[5], counts=counts))
    assert 'not a' in rle_problem([5, 5])


def test_bad_input_names_file_and_line(copy_of):
    root = copy_of('risbench')
    path = osp.join(root, 'datainfo', 'risbench_train.jsonl')
    with open(path) as f:
        original = f.read()

    def load(split='train'):
        return ReferringJsonlDataset(data_root=root, split=split, dataset='risbench')

    def corrupt(lines):
        lines[1]['segmentation']['counts'] = lines[1]['segmentation']['counts'][:-3]
    _rewrite(path, corrupt)
    with pytest.raises(ValueError, match=r'risbench_train.jsonl, line 2: corrupt RLE'):
        load()
    with open(path, 'w') as f:
        f.write(original)
    _rewrite(path, lambda lines: lines[2].update(split='val'))
    with pytest.raises(ValueError, match=r'line 3: split "val" in a file read as the train'):
        load()
    with open(path, 'w') as f:
        f.write(original.replace('\n', '\n{"split": "train", oops\n', 1))
    with pytest.raises(ValueError, match=r'risbench_train.jsonl, line 2: not a JSON object'):
        load()
    with open(path, 'w') as f:
        f.write(original + json.dumps(dict(split='train', sent='A ship.')) + '\n')
    n = len(original.splitlines())
    with pytest.raises(ValueError, match=rf'line {n + 1}: lacks the key\(s\) '
                       r"\['file_name', 'segmentation'\]"):
        load()
    with open(path, 'w') as f:
        f.write(original)
    first = json.loads(original.splitlines()[0])['file_name']
    os.remove(osp.join(root, 'img_rgb', first))
    with pytest.raises(FileNotFoundError) as e:
        load()
    assert osp.join(root, 'img_rgb', first) + ' (risbench_train.jsonl, line 1)' in str(e.value)
    with pytest.raises(ValueError, match='unknown split "dev"'):
        load('dev')
    with pytest.raises(ValueError, match='unknown dataset "rrsishr"'):
        ReferringJsonlDataset(data_root=root, dataset='rrsishr')
    os.remove(osp.join(root, 'datainfo', 'risbench_val.jsonl'))
    with pytest.raises(FileNotFoundError, match='JSONL annotation file .*risbench_val.jsonl'):
        load('val')
