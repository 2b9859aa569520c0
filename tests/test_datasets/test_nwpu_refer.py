"""NWPUReferDataset on a hand-written set (masks known by hand) and on the synthetic writer's."""
import json
import logging
import os
import os.path as osp
import pickle
import re
import shutil

import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image

from mmrrsis.datasets import LoadReferringAnnotations, LoadReferringImage, NWPUReferDataset
from mmrrsis.datasets.nwpu_refer import sentence_language
from mmrrsis.datasets.synthetic import make_nwpu_refer

# Hand-written set: categories 3 car, 9 ship, 12 storage tank, 40 no target (non-contiguous).
CATEGORIES = [dict(id=3, name='car'), dict(id=9, name='ship'), dict(id=12, name='storage tank'),
              dict(id=40, name='no target')]
IMAGES = [dict(id=1, file_name='a.jpg', height=40, width=56),
          dict(id=2, file_name='b.jpg', height=64, width=48),
          dict(id=3, file_name='c.jpg', height=48, width=48)]


def rect(x0, y0, x1, y1):
    """A COCO polygon that pycocotools fills to exactly mask[y0:y1, x0:x1]."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


ANNOTATIONS = [
    dict(id=11, image_id=1, category_id=9, bbox=[4, 2, 10, 6], segmentation=[rect(4, 2, 14, 8)]),
    dict(id=12, image_id=2, category_id=3, bbox=[0, 0, 1, 1], segmentation=[rect(2, 3, 10, 9)]),
    dict(id=13, image_id=2, category_id=3, bbox=[0, 0, 1, 1], segmentation=[rect(30, 40, 36, 60)]),
    dict(id=14, image_id=3, category_id=40, bbox=[5, 5, 20, 20], segmentation=[]),
    dict(id=15, image_id=3, category_id=12, bbox=[0, 0, 1, 1],
         segmentation=[rect(1, 1, 5, 4), rect(40, 30, 47, 47)]),
]


def ref(ref_id, image_id, ann_id, category_id, sentences, split='train'):
    return dict(ref_id=ref_id, image_id=image_id, ann_id=ann_id, category_id=category_id,
                split=split, sentences=[dict(raw=s, sent=s, sent_id=10 * ref_id + i)
                                        for i, s in enumerate(sentences)])


REFS = [
    ref(1, 1, 11, 9, ['跑道旁的船', 'the ship on the left']),       # (a) single, [zh, en]
    ref(2, 2, 12, 3, ['所有的汽车', 'all cars']),                   # (b)+(c) one expression,
    ref(3, 2, 13, 3, ['所有的汽车', '  all   cars ']),              # two refs, union mask
    ref(4, 3, 14, 40, ['the red ship at the top']),                # (d) no target
    ref(5, 3, 15, 12, ['the storage tank', '储油罐']),              # (e) two polygons
    ref(6, 1, 11, 9, ['the ship on the left'], split='testA'),     # (f) unknown split
    ref(7, 3, 15, 12, ['the storage tank'], split='test'),
]


def write(root, refs=REFS, annotations=ANNOTATIONS, nested=False):
    img_dir = osp.join(root, 'image', 'image' if nested else '')
    os.makedirs(img_dir, exist_ok=True)
    for image in IMAGES:
        Image.new('RGB', (image['width'], image['height']), (90, 90, 90)).save(
            osp.join(img_dir, image['file_name']))
    with open(osp.join(root, 'new_refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)
    with open(osp.join(root, 'new_instances.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(images=IMAGES, annotations=annotations, categories=CATEGORIES), f,
                  ensure_ascii=False)
    return str(root)


def masks(dataset):
    load_image, load_mask = LoadReferringImage(), LoadReferringAnnotations()
    return [load_mask(load_image(dataset.get_data_info(i)))['gt_seg_map']
            for i in range(len(dataset))]


def box(height, width, *rects):
    mask = np.zeros((height, width), np.uint8)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = 1
    return mask


@pytest.fixture
def logs():
    messages = []

    class Capture(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Capture()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def test_hand_written_set_english(tmp_path, logs):
    dataset = NWPUReferDataset(write(tmp_path), split='train')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [d['expression'] for d in infos] == [
        'the ship on the left', 'all cars', 'the red ship at the top', 'the storage tank']
    assert [d['has_target'] for d in infos] == [True, True, False, True]
    assert [d['ref_ids'] for d in infos] == [[1], [2, 3], [4], [5]]
    assert [d['ann_ids'] for d in infos] == [[11], [12, 13], [14], [15]]
    assert [d['image_id'] for d in infos] == [1, 2, 3, 3]
    assert [d['sent_id'] for d in infos] == [11, 21, 40, 50]
    # the no-target sample names the class its expression mentions first
    assert [d['category'] for d in infos] == ['ship', 'car', 'ship', 'storage tank']
    assert dataset.metainfo['categories'] == ('car', 'ship', 'storage tank')
    assert infos[0]['img_path'] == osp.join(str(tmp_path), 'image', 'a.jpg')
    expected = [box(40, 56, (4, 2, 14, 8)),
                box(64, 48, (2, 3, 10, 9), (30, 40, 36, 60)),   # union of two refs
                box(48, 48),                                     # empty despite the bbox
                box(48, 48, (1, 1, 5, 4), (40, 30, 47, 47))]     # two polygons
    for got, want in zip(masks(dataset), expected):
        np.testing.assert_array_equal(got, want)
    assert any('("testA": 1)' in m for m in logs)
    assert any('left out (zh 4); 0 ref(s) have none in it' in m for m in logs)


def test_language_option_and_merging(tmp_path):
    root = write(tmp_path)
    zh = NWPUReferDataset(root, split='train', language='zh')
    assert [zh.get_data_info(i)['expression'] for i in range(len(zh))] == [
        '跑道旁的船', '所有的汽车', '储油罐']
    assert [zh.get_data_info(i)['language'] for i in range(len(zh))] == ['zh'] * 3
    every = NWPUReferDataset(root, split='train', language='all')
    assert len(every) == 7
    # a Chinese no-target sentence takes its category from the ref's English one
    refs = [dict(r) for r in REFS]
    refs[3] = ref(4, 3, 14, 40, ['顶部的红色船', 'the red ship at the top'])
    zh = NWPUReferDataset(write(tmp_path / 'zh', refs), split='train', language='zh')
    infos = [zh.get_data_info(i) for i in range(len(zh))]
    assert [(d['expression'], d['category']) for d in infos if not d['has_target']] == [
        ('顶部的红色船', 'ship')]
    separate = NWPUReferDataset(root, split='train', merge_multi_target=False)
    assert [separate.get_data_info(i)['ann_ids'] for i in range(len(separate))] == [
        [11], [12], [13], [14], [15]]
    np.testing.assert_array_equal(masks(separate)[2], box(64, 48, (30, 40, 36, 60)))
    test = NWPUReferDataset(root, split='test')
    assert len(test) == 1 and test.get_data_info(0)['ref_id'] == 7
    assert sentence_language('all cars 2') == 'en' and sentence_language('汽车') == 'zh'
    assert sentence_language('the 汽车') == 'mixed'
    with pytest.raises(ValueError, match='unknown language "fr"'):
        NWPUReferDataset(root, language='fr')


def test_nested_image_folder_and_old_file_names(tmp_path):
    root = write(tmp_path, nested=True)
    os.rename(osp.join(root, 'new_refs(unc).p'), osp.join(root, 'refs(unc).p'))
    os.rename(osp.join(root, 'new_instances.json'), osp.join(root, 'instances.json'))
    dataset = NWPUReferDataset(root, split='train')
    assert dataset.get_data_info(0)['img_path'] == osp.join(root, 'image', 'image', 'a.jpg')
    assert dataset.refs_file.endswith('refs(unc).p') and len(dataset) == 4


def test_missing_no_target_annotation_is_fine_but_a_missing_object_one_is_not(tmp_path):
    anns = [a for a in ANNOTATIONS if a['id'] not in (14, 13)]
    with pytest.raises(ValueError, match=r"1 ref\(s\) of .*new_refs\(unc\).p point at "
                       r"annotations .*: \(ref_id, ann_id\) \(3, 13\)"):
        NWPUReferDataset(write(tmp_path, annotations=anns), split='train')
    anns = [a for a in ANNOTATIONS if a['id'] != 14]
    dataset = NWPUReferDataset(write(tmp_path, annotations=anns), split='train')
    info = dataset.get_data_info(2)
    assert not info['has_target'] and info['ann_ids'] == [14]
    assert masks(dataset)[2].sum() == 0


@pytest.mark.parametrize('case, match', [
    ('missing image', r"1 NWPU-Refer image file\(s\) listed in .*new_refs\(unc\).p are missing:"
                      r"\n  .*image/b.jpg"),
    ('missing annotation file', r'NWPU-Refer annotation file is missing: none of .*'
                                r'new_instances.json'),
    ('malformed polygon', r'new_instances.json: annotation 15 \(used by .*new_refs\(unc\).p '
                          r'\(ref_id 5\)\): polygon 1 has 4 numbers'),
    ('empty object polygon', r'annotation 12 \(used by .*\(ref_id 2\)\): segmentation \[\] is '
                             'empty'),
    ('mixed group', r'refs \[2, 3\] share the expression "all cars" on image 2, but some are '
                    '"no target"'),
    ('category clash', r'\(ref_id 1\) has category_id 9 \(\'ship\'\) but its annotation 11 in '
                       r".*has 3 \('car'\)"),
    ('unknown category', r'\(ref_id 1\) has category_id 99, which is not one of the categories'),
])
def test_bad_input_names_file_and_record(tmp_path, case, match):
    refs = [dict(r) for r in REFS]
    anns = [dict(a) for a in ANNOTATIONS]
    root = write(tmp_path, refs, anns)
    if case == 'missing image':
        os.remove(osp.join(root, 'image', 'b.jpg'))
    elif case == 'missing annotation file':
        os.remove(osp.join(root, 'new_instances.json'))
        error = FileNotFoundError
    else:
        if case == 'malformed polygon':
            anns[4]['segmentation'] = [rect(1, 1, 5, 4), [1, 2, 3, 4]]
        elif case == 'empty object polygon':
            anns[1]['segmentation'] = []
        elif case == 'mixed group':
            refs[2]['category_id'] = 40
            anns[2]['category_id'] = 40
        elif case == 'category clash':
            anns[0]['category_id'] = 3
        elif case == 'unknown category':
            refs[0]['category_id'] = 99
            anns[0]['category_id'] = None
        write(tmp_path, refs, anns)
    error = FileNotFoundError if case.startswith('missing') else ValueError
    with pytest.raises(error, match=match):
        NWPUReferDataset(root, split='train')


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match=r'NWPUReferDataset: unknown split "testA"'):
        NWPUReferDataset(write(tmp_path), split='testA')


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('nwpu') / 'data')
    return root, make_nwpu_refer(root, num_images=9, seed=3, size=48)


def test_synthetic_set_is_exact(synthetic):
    root, summary = synthetic
    for split in ('train', 'val', 'test'):
        dataset = NWPUReferDataset(root, split=split)
        records = [r for r in summary['images'] if r['split'] == split]
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert len(dataset) == summary['samples'][split] == 2 * len(records)
        assert sum(not d['has_target'] for d in infos) == summary['no_target_samples'][split]
        wanted = [(ref['en'], ref['kind'], sum(record['objects'][i]['area']
                                               for i in ref['objects']))
                  for record in records for ref in record['refs']]
        got = [(d['expression'], 'no_target' if not d['has_target'] else
                'multi' if len(d['ann_ids']) > 1 else 'single', int(m.sum()))
               for d, m in zip(infos, masks(dataset))]
        assert got == wanted  # union area = sum of the disjoint objects; no-target: 0
        for d, record in zip(infos[::2], records):
            assert d['category'] == record['objects'][0]['category']
        assert set(dataset.metainfo['categories']) >= {d['category'] for d in infos} - {None}
    # the Chinese sentences: all but the no-target refs have one
    zh = NWPUReferDataset(root, split='train', language='zh')
    assert len(zh) == summary['samples']['train'] - summary['no_target_samples']['train']
    assert all(sentence_language(zh.get_data_info(i)['expression']) == 'zh'
               for i in range(len(zh)))


def test_synthetic_nested_image_folder(tmp_path):
    summary = make_nwpu_refer(str(tmp_path), num_images=4, seed=0, size=48,
                              nested_image_dir=True)
    dataset = NWPUReferDataset(str(tmp_path), split='train')
    assert re.search(r'image/image/00001\.jpg$', dataset.get_data_info(0)['img_path'])
    assert summary['multi_target_samples']['train'] == 1
    shutil.rmtree(osp.join(str(tmp_path), 'image'))
    with pytest.raises(FileNotFoundError, match=r'NWPU-Refer image file\(s\)'):
        NWPUReferDataset(str(tmp_path), split='train')
