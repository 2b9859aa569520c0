"""RefSegRSDataset and RRSISDDataset on generated fixtures."""
import json
import logging
import os
import os.path as osp
import pickle

import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image
from pycocotools import mask as mask_utils

from mmrrsis.datasets import (REFSEGRS_CATEGORIES, RRSISD_CATEGORIES, RefSegRSDataset,
                              RRSISDDataset)
from mmrrsis.datasets.synthetic import make_refsegrs, make_rrsisd

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]


@pytest.fixture(scope='module')
def refsegrs_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('refsegrs'))
    make_refsegrs(root, num_images=12, seed=1, size=64)
    return root


@pytest.fixture(scope='module')
def rrsisd_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rrsisd'))
    make_rrsisd(root, num_images=16, seed=2, size=72)
    return root


def _phrase_lines(root, split):
    with open(osp.join(root, f'output_phrase_{split}.txt')) as f:
        return [line.rstrip('\n').split(' ', 1) for line in f if line.strip()]


def test_refsegrs_one_sample_per_line_with_exact_fields(refsegrs_root):
    total = 0
    for split in ('train', 'val', 'test'):
        lines = _phrase_lines(refsegrs_root, split)
        ds = RefSegRSDataset(data_root=refsegrs_root, split=split, pipeline=PIPELINE)
        assert len(ds) == len(lines)
        total += len(ds)
        for i, (img_id, expr) in enumerate(lines):
            info = ds.get_data_info(i)
            assert info['expression'] == expr.strip()
            assert info['img_path'] == osp.join(refsegrs_root, 'images', f'{img_id}.tif')
            assert info['category'] in REFSEGRS_CATEGORIES
            assert info['category'] in expr
    assert total > 12  # some images carry more than one expression
    assert ds.metainfo['categories'] == REFSEGRS_CATEGORIES
    assert ds.metainfo['classes'] == ('background', 'target')


def test_refsegrs_mask_values_follow_threshold(refsegrs_root):
    ds = RefSegRSDataset(data_root=refsegrs_root, split='train', pipeline=PIPELINE)
    sample = ds[0]
    raw = np.array(Image.open(ds.get_data_info(0)['seg_map_path']))
    gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, (raw > 50).astype(np.int64))
    assert set(np.unique(gt)) <= {0, 1} and gt.sum() > 0
    meta = sample['data_samples'].metainfo
    assert meta['expression'] == ds.get_data_info(0)['expression']
    assert meta['category'] == ds.get_data_info(0)['category']
    assert sample['inputs'].shape == (3, 64, 64)


def test_refsegrs_missing_files_reported_at_once(refsegrs_root, tmp_path):
    root = str(tmp_path / 'broken')
    make_refsegrs(root, num_images=50, seed=3, size=48)
    ids = sorted({img_id for img_id, _ in _phrase_lines(root, 'train')})
    assert len(ids) > 23
    for img_id in ids[:23]:
        os.remove(osp.join(root, 'images', f'{img_id}.tif'))
    with pytest.raises(FileNotFoundError) as err:
        RefSegRSDataset(data_root=root, split='train')
    msg = str(err.value)
    assert msg.startswith('23 RefSegRS image file(s) listed in')
    assert msg.count('.tif') == 20 and '... and 3 more' in msg


def test_refsegrs_empty_expression_names_file_and_line(tmp_path):
    root = str(tmp_path)
    make_refsegrs(root, num_images=6, seed=4, size=48)
    path = osp.join(root, 'output_phrase_train.txt')
    lines = open(path).read().splitlines()
    lines.insert(1, lines[0].split(' ', 1)[0] + '   ')
    open(path, 'w').write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'output_phrase_train.txt, line 2: .*empty expression'):
        RefSegRSDataset(data_root=root, split='train')


def test_unknown_split_and_missing_root(refsegrs_root, tmp_path):
    with pytest.raises(ValueError, match='unknown split "training"'):
        RefSegRSDataset(data_root=refsegrs_root, split='training')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        RRSISDDataset(data_root=str(tmp_path / 'nowhere'), split='val')


def _load_rrsisd_annotations(root):
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    with open(osp.join(root, 'rrsisd', 'instances.json')) as f:
        instances = json.load(f)
    return refs, instances


def test_rrsisd_samples_expressions_and_categories(rrsisd_root):
    refs, instances = _load_rrsisd_annotations(rrsisd_root)
    anns = {a['id']: a for a in instances['annotations']}
    for split in ('train', 'val', 'test'):
        split_refs = [r for r in refs if r['split'] == split]
        ds = RRSISDDataset(data_root=rrsisd_root, split=split, pipeline=PIPELINE)
        assert len(ds) == sum(len(r['sentences']) for r in split_refs)
        expected = [(s['sent'], r['category_id'], r['ann_id']) for r in split_refs
                    for s in r['sentences']]
        for i, (sent, cat_id, ann_id) in enumerate(expected):
            info = ds.get_data_info(i)
            assert info['expression'] == sent
            assert info['category_id'] == cat_id == anns[ann_id]['categories_id']
            assert info['category'] == RRSISD_CATEGORIES[cat_id]
    assert ds.metainfo['categories'] == RRSISD_CATEGORIES


def test_rrsisd_mask_equals_decoded_rle(rrsisd_root):
    refs, instances = _load_rrsisd_annotations(rrsisd_root)
    anns = {a['id']: a for a in instances['annotations']}
    ds = RRSISDDataset(data_root=rrsisd_root, split='train', pipeline=PIPELINE)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rle = anns[info['ann_id']]['segmentation']
        expected = mask_utils.decode(rle).sum(axis=2).astype(np.uint8) > 0
        if list(expected.shape) != list(Image.open(info['img_path']).size[::-1]):
            continue  # odd-size images are covered by the next test
        gt = ds[i]['data_samples'].gt_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(gt, expected.astype(np.int64))
        return
    pytest.fail('no regular-size RRSIS-D sample in the fixture')


def test_rrsisd_odd_size_masks_resized_to_image_and_logged_once(rrsisd_root):
    refs, instances = _load_rrsisd_annotations(rrsisd_root)
    images = {img['id']: img for img in instances['images']}
    anns = {a['id']: a for a in instances['annotations']}
    odd = [r for r in refs
           if list(anns[r['ann_id']]['segmentation'][0]['size'])
           != [images[r['image_id']]['height'], images[r['image_id']]['width']]]
    assert odd, 'the generator must write a few odd-size images'
    ref = odd[0]
    logger = MMLogger.get_current_instance()
    records = []

    class Capture(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    handler = Capture()
    logger.addHandler(handler)
    try:
        ds = RRSISDDataset(data_root=rrsisd_root, split=ref['split'], pipeline=PIPELINE)
    finally:
        logger.removeHandler(handler)
    n_odd = sum(1 for r in odd if r['split'] == ref['split'])
    resize_logs = [m for m in records if 'RLE size different' in m]
    assert len(resize_logs) == 1 and resize_logs[0].split(': ')[1].startswith(f'{n_odd} mask')
    idx = next(i for i in range(len(ds)) if ds.get_data_info(i)['ref_id'] == ref['ref_id'])
    sample = ds[idx]
    image = images[ref['image_id']]
    gt = sample['data_samples'].gt_sem_seg.data[0]
    assert tuple(gt.shape) == (image['height'], image['width'])
    assert tuple(sample['inputs'].shape[1:]) == (image['height'], image['width'])
    assert gt.sum() > 0


def test_rrsisd_missing_images_reported_at_once(tmp_path):
    root = str(tmp_path)
    make_rrsisd(root, num_images=8, seed=5, size=48)
    refs, _ = _load_rrsisd_annotations(root)
    train_files = sorted({r['file_name'] for r in refs if r['split'] == 'train'})
    for name in train_files[:2]:
        os.remove(osp.join(root, 'images', 'rrsisd', 'JPEGImages', name))
    with pytest.raises(FileNotFoundError) as err:
        RRSISDDataset(data_root=root, split='train')
    assert str(err.value).startswith('2 RRSIS-D image file(s)')
    assert all(name in str(err.value) for name in train_files[:2])
