"""RRSISHRDataset: RRSIS-D's loader under the key rrsishr, categories from the file, polygons."""
import json
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmrrsis.datasets import (LoadReferringAnnotations, LoadReferringImage, RRSISDDataset,
                              RRSISHRDataset)
from mmrrsis.datasets.synthetic import make_rrsishr


def masks(dataset):
    load_image, load_mask = LoadReferringImage(), LoadReferringAnnotations()
    return [load_mask(load_image(dataset.get_data_info(i)))['gt_seg_map']
            for i in range(len(dataset))]


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rrsishr') / 'data')
    return root, make_rrsishr(root, num_images=8, seed=1, size=48)


@pytest.fixture
def data(pristine, tmp_path):
    return shutil.copytree(pristine[0], str(tmp_path / 'data'))


def _instances(root):
    with open(osp.join(root, 'rrsishr', 'instances.json')) as f:
        return json.load(f)


def _save_instances(root, instances):
    with open(osp.join(root, 'rrsishr', 'instances.json'), 'w') as f:
        json.dump(instances, f)


def test_samples_texts_categories_and_masks(pristine):
    root, summary = pristine
    instances = _instances(root)
    assert {c['id'] for c in instances['categories']} == set(summary['category_ids'].values())
    assert min(summary['category_ids'].values()) == 3  # not from 0, not contiguous
    kinds = [type(a['segmentation'][0]).__name__ for a in instances['annotations']]
    assert 'list' in kinds and 'dict' in kinds  # polygons and a list of one RLE
    assert any(len(a['segmentation']) >= 2 for a in instances['annotations']
               if isinstance(a['segmentation'][0], list))
    assert all('category_id' in a and 'categories_id' not in a
               for a in instances['annotations'])
    for split in ('train', 'val', 'test'):
        dataset = RRSISHRDataset(root, split=split)
        assert dataset.metainfo['categories'] == tuple(summary['categories'])
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert len(dataset) == summary['samples'][split]
        targets = [(record, t) for record in summary['images'] if record['split'] == split
                   for t in record['targets']]
        assert [d['expression'] for d in infos] == [s for _, t in targets for s in t['sentences']]
        wanted = [(t['ann_id'], record['objects'][t['object']]['category'],
                   record['objects'][t['object']]['area'], (record['height'], record['width']))
                  for record, t in targets for _ in t['sentences']]
        got = [(d['ann_id'], d['category'], int(m.sum()), m.shape)
               for d, m in zip(infos, masks(dataset))]
        assert got == wanted
        assert all(d['ref_id'] == d['ann_id'] and d['img_path'].startswith(
            osp.join(root, 'images', 'rrsishr', 'JPEGImages')) for d in infos)
    first = RRSISHRDataset(root, split='train').get_data_info(1)
    assert first['ref_id'] == 1 and first['sent_id'] == 101  # the two-sentence ref


def test_polygon_mask_is_pixel_exact(data):
    instances = _instances(data)
    image = instances['images'][1]  # 64 tall, 48 wide
    assert (image['height'], image['width']) == (64, 48)
    ann = next(a for a in instances['annotations'] if a['image_id'] == image['id'])
    ann['segmentation'] = [[2, 3, 10, 3, 10, 9, 2, 9], [30, 40, 36, 40, 36, 60, 30, 60]]
    _save_instances(data, instances)
    dataset = RRSISHRDataset(data, split='train')
    index = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['ann_id'] == ann['id'])
    expected = np.zeros((64, 48), np.uint8)
    expected[3:9, 2:10] = 1
    expected[40:60, 30:36] = 1
    np.testing.assert_array_equal(masks(dataset)[index], expected)


def test_rrsisd_defaults_unchanged_and_key_parameter(data, tmp_path):
    dataset = RRSISHRDataset(data, split='val')
    assert dataset.refs_file == osp.join(data, 'rrsishr', 'refs(unc).p')
    assert dataset.ann_file == osp.join(data, 'rrsishr', 'instances.json')
    assert dataset.data_prefix['img_path'] == osp.join(data, 'images', 'rrsishr', 'JPEGImages')
    # the RRSIS-D loader reads the same layout when given the key, but keeps RLE only
    with pytest.raises(ValueError, match='polygons are not supported'):
        RRSISDDataset(data, split='train', dataset_key='rrsishr')
    os.makedirs(tmp_path / 'plain')
    with pytest.raises(FileNotFoundError, match=r'RRSIS-D refs file .*rrsisd/refs\(unc\).p'):
        RRSISDDataset(str(tmp_path / 'plain'))
    # Kaggle re-upload: the files directly in data_root
    flat = str(tmp_path / 'flat')
    shutil.copytree(osp.join(data, 'rrsishr'), flat)
    shutil.copytree(osp.join(data, 'images', 'rrsishr', 'JPEGImages'), osp.join(flat, 'img'))
    moved = RRSISHRDataset(flat, split='val', refs_file='refs(unc).p',
                           ann_file='instances.json', data_prefix=dict(img_path='img'))
    assert [moved.get_data_info(i)['expression'] for i in range(len(moved))] == \
        [dataset.get_data_info(i)['expression'] for i in range(len(dataset))]


@pytest.mark.parametrize('case, error, match', [
    ('missing image', FileNotFoundError,
     r"1 RRSIS-HR image file\(s\) listed in .*rrsishr/refs\(unc\).p are missing:\n  .*00001.jpg"),
    ('missing annotation file', FileNotFoundError,
     r'RRSIS-HR annotation file .*rrsishr/instances.json is missing'),
    ('malformed polygon', ValueError,
     r'instances.json: annotation 1 \(used by .*refs\(unc\).p \(ref_id 1\)\): polygon 0 has 5 '
     'numbers'),
    ('no categories', ValueError, r'RRSIS-HR annotation file .*instances.json has no '
                                  r'"categories" list'),
])
def test_bad_input_names_file_and_record(data, case, error, match):
    if case == 'missing image':
        os.remove(osp.join(data, 'images', 'rrsishr', 'JPEGImages', '00001.jpg'))
    elif case == 'missing annotation file':
        os.remove(osp.join(data, 'rrsishr', 'instances.json'))
    else:
        instances = _instances(data)
        if case == 'malformed polygon':
            assert isinstance(instances['annotations'][0]['segmentation'][0], list)
            instances['annotations'][0]['segmentation'] = [[1, 2, 3, 4, 5]]
        else:
            del instances['categories']
        _save_instances(data, instances)
    with pytest.raises(error, match=match):
        RRSISHRDataset(data, split='train')


def test_unknown_split_and_rle_ref(data):
    with pytest.raises(ValueError, match=r'RRSISHRDataset: unknown split "testA"'):
        RRSISHRDataset(data, split='testA')
    # a ref whose RLE annotation is a bare dict, not a list of one
    instances = _instances(data)
    ann = next(a for a in instances['annotations'] if isinstance(a['segmentation'][0], dict))
    want = mask_utils.decode(ann['segmentation'])[..., 0]
    ann['segmentation'] = ann['segmentation'][0]
    _save_instances(data, instances)
    with open(osp.join(data, 'rrsishr', 'refs(unc).p'), 'rb') as f:
        split = next(r['split'] for r in pickle.load(f) if r['ann_id'] == ann['id'])
    dataset = RRSISHRDataset(data, split=split)
    index = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['ann_id'] == ann['id'])
    np.testing.assert_array_equal(masks(dataset)[index], want)
