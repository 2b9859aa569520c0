"""The synthetic RefSegRS / RRSIS-D generator: exact files, formats, determinism, vocabulary."""
import json
import os
import os.path as osp
import pickle
import runpy

import numpy as np
import pytest
import tifffile
from PIL import Image
from pycocotools import mask as mask_utils
from transformers import BertTokenizerFast

import mmrrsis.datasets as datasets
from mmrrsis.datasets.synthetic import (REFSEGRS_CATEGORIES, RRSISD_CATEGORIES, SIZE_RATIO, WHERE,
                                        build_vocab, make_refsegrs, make_rrsisd)
from mmrrsis.datasets.utils import category_from_expression

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train', 'val', 'test')
NUM_IMAGES, SIZE = 20, 64
REF_KEYS = {'image_id', 'split', 'sentences', 'file_name', 'category_id', 'ann_id', 'sent_ids',
            'ref_id'}
SENT_KEYS = {'tokens', 'raw', 'sent_id', 'sent'}
IMAGE_KEYS = {'file_name', 'height', 'width', 'id'}
ANN_KEYS = {'id', 'image_id', 'bbox', 'categories_id', 'area', 'segmentation'}


@pytest.fixture(scope='module')
def refsegrs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('refsegrs'))
    return root, make_refsegrs(root, NUM_IMAGES, seed=0, size=SIZE)


@pytest.fixture(scope='module')
def rrsisd(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rrsisd'))
    return root, make_rrsisd(root, NUM_IMAGES, seed=0, size=SIZE)


def _files(root):
    return {osp.relpath(osp.join(d, f), root) for d, _, files in os.walk(root) for f in files}


def _phrase_lines(root):
    lines = {}
    for split in SPLITS:
        with open(osp.join(root, f'output_phrase_{split}.txt'), encoding='utf-8') as f:
            lines[split] = [line.rstrip('\n').split(' ', 1) for line in f]
    return lines


def _load_rrsisd(root):
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    with open(osp.join(root, 'rrsisd', 'instances.json'), encoding='utf-8') as f:
        instances = json.load(f)
    return refs, instances


def _tokenizer(vocab_file):
    # transformers 5 ignores BertTokenizerFast(vocab_file=...); loading the folder works
    # with both 4.x and 5.x.
    return BertTokenizerFast.from_pretrained(osp.dirname(vocab_file))


def test_categories_match_the_dataset_classes(refsegrs):
    # The generator keeps its own copy so that it runs without mmseg; the loaders' lists rule.
    assert REFSEGRS_CATEGORIES == datasets.REFSEGRS_CATEGORIES
    assert RRSISD_CATEGORIES == datasets.RRSISD_CATEGORIES
    assert tuple(refsegrs[1]['categories']) == REFSEGRS_CATEGORIES


def test_refsegrs_writes_exactly_the_real_layout(refsegrs):
    root, summary = refsegrs
    expected = {f'{folder}/{i}.tif' for folder in ('images', 'masks') for i in range(NUM_IMAGES)}
    expected |= {f'output_phrase_{split}.txt' for split in SPLITS} | {'bert_vocab/vocab.txt'}
    assert _files(root) == expected
    assert summary['vocab_file'] == osp.join(root, 'bert_vocab', 'vocab.txt')
    assert summary['odd_size_images'] == []


def test_refsegrs_lines_images_and_masks(refsegrs):
    root, summary = refsegrs
    lines = _phrase_lines(root)
    assert {split: len(v) for split, v in lines.items()} == summary['samples']
    split_of = {}
    for split, entries in lines.items():
        for img_id, expression in entries:
            assert img_id.isdigit() and 0 <= int(img_id) < NUM_IMAGES
            assert expression == expression.strip() and expression
            assert split_of.setdefault(img_id, split) == split, 'an image must stay in one split'
            category = category_from_expression(expression, summary['categories'])
            assert category == summary['images'][int(img_id)]['objects'][0]['category']
    assert len(split_of) == NUM_IMAGES
    assert sum(summary['samples'].values()) > NUM_IMAGES, 'some ids should carry a paraphrase'
    assert [sum(r['split'] == s for r in summary['images']) for s in SPLITS] == [12, 4, 4]
    for i in range(NUM_IMAGES):
        image = tifffile.imread(osp.join(root, 'images', f'{i}.tif'))
        mask = tifffile.imread(osp.join(root, 'masks', f'{i}.tif'))
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        assert mask.shape == (SIZE, SIZE) and mask.dtype == np.uint8
        assert set(np.unique(mask)) == {0, 255}
        assert (mask > 0).sum() == summary['images'][i]['objects'][0]['area']
        with Image.open(osp.join(root, 'masks', f'{i}.tif')) as pil_mask:
            assert pil_mask.mode == 'L'  # the loading transform reads masks with pillow


def test_rrsisd_writes_exactly_the_real_layout(rrsisd):
    root, summary = rrsisd
    expected = {f'images/rrsisd/JPEGImages/{i:05d}.jpg' for i in range(1, NUM_IMAGES + 1)}
    expected |= {'rrsisd/refs(unc).p', 'rrsisd/instances.json', 'bert_vocab/vocab.txt'}
    assert _files(root) == expected


def test_rrsisd_refs_and_instances_match_the_real_keys(rrsisd):
    root, summary = rrsisd
    refs, instances = _load_rrsisd(root)
    assert set(instances) == {'images', 'annotations', 'categories'}
    assert instances['categories'] == [{'id': i, 'name': n}
                                       for i, n in enumerate(RRSISD_CATEGORIES)]
    images = {img['id']: img for img in instances['images']}
    anns = {ann['id']: ann for ann in instances['annotations']}
    assert len(refs) == len(anns) == sum(summary['samples'].values())
    assert all(set(img) == IMAGE_KEYS for img in images.values())
    for ref in refs:
        assert set(ref) == REF_KEYS
        assert ref['split'] in SPLITS
        assert ref['ref_id'] == ref['ann_id'] and ref['sent_ids'] == [ref['ann_id']]
        assert len(ref['sentences']) == 1
        sent = ref['sentences'][0]
        assert set(sent) == SENT_KEYS
        assert sent['sent'] == sent['raw'].lower() and sent['tokens'] == sent['sent'].split()
        assert sent['sent_id'] == ref['ann_id']
        ann = anns[ref['ann_id']]
        assert set(ann) == ANN_KEYS and 'category_id' not in ann
        assert ann['categories_id'] == ref['category_id']
        assert ann['image_id'] == ref['image_id']
        assert images[ref['image_id']]['file_name'] == ref['file_name']
        assert isinstance(ann['segmentation'], list) and len(ann['segmentation']) == 1
        rle = ann['segmentation'][0]
        assert rle['size'] == [SIZE, SIZE] and isinstance(rle['counts'], str)
        mask = mask_utils.decode(ann['segmentation']).sum(axis=-1).astype(np.uint8)
        assert mask.shape == (SIZE, SIZE) and set(np.unique(mask)) == {0, 1}
        assert mask.sum() == ann['area']
        x, y, w, h = ann['bbox']
        ys, xs = np.nonzero(mask)
        assert (x, y, w, h) == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)


def test_rrsisd_category_name_is_in_the_sentence(rrsisd):
    root, summary = rrsisd
    refs, _ = _load_rrsisd(root)
    for ref in refs:
        name = summary['categories'][ref['category_id']]
        assert name in ref['sentences'][0]['sent']


def test_rrsisd_odd_size_images_keep_the_rle_size(rrsisd):
    root, summary = rrsisd
    refs, instances = _load_rrsisd(root)
    odd = {osp.basename(path) for path in summary['odd_size_images']}
    assert len(odd) >= 2
    anns = {ann['id']: ann for ann in instances['annotations']}
    rle_size = {ref['file_name']: anns[ref['ann_id']]['segmentation'][0]['size'] for ref in refs}
    heights = set()
    for img in instances['images']:
        with Image.open(osp.join(root, 'images', 'rrsisd', 'JPEGImages', img['file_name'])) as jpeg:
            width, height = jpeg.size
        assert (img['width'], img['height']) == (width, height)
        assert rle_size[img['file_name']] == [SIZE, SIZE]
        assert ((height, width) != (SIZE, SIZE)) == (img['file_name'] in odd)
        if img['file_name'] in odd:
            assert width == SIZE
            heights.add(height)
    assert heights == {SIZE + 1, SIZE - 13}


def test_same_seed_same_bytes(tmp_path, refsegrs, rrsisd):
    make_refsegrs(str(tmp_path / 'refsegrs'), NUM_IMAGES, seed=0, size=SIZE)
    make_rrsisd(str(tmp_path / 'rrsisd'), NUM_IMAGES, seed=0, size=SIZE)
    for (root, _), again in ((refsegrs, tmp_path / 'refsegrs'), (rrsisd, tmp_path / 'rrsisd')):
        for rel in sorted(_files(root)):
            with open(osp.join(root, rel), 'rb') as a, open(again / rel, 'rb') as b:
                assert a.read() == b.read(), rel
    make_refsegrs(str(tmp_path / 'other'), NUM_IMAGES, seed=1, size=SIZE)
    with open(osp.join(refsegrs[0], 'output_phrase_train.txt')) as a, \
            open(tmp_path / 'other' / 'output_phrase_train.txt') as b:
        assert a.read() != b.read()


def test_vocab_tokenizes_every_expression(refsegrs, rrsisd):
    for root, summary in (refsegrs, rrsisd):
        with open(summary['vocab_file'], encoding='utf-8') as f:
            vocab = f.read().split('\n')[:-1]
        assert vocab[:5] == ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
        assert len(vocab) == len(set(vocab))
        tokenizer = _tokenizer(summary['vocab_file'])
        assert len(tokenizer) == len(vocab) and tokenizer.pad_token_id == 0
        expressions = [t['expression'] for r in summary['images'] for t in r['targets']]
        for expression in expressions:
            ids = tokenizer(expression)['input_ids']
            assert tokenizer.unk_token_id not in ids, expression
        # Template words are in the vocabulary even when this small sample never used them.
        for phrase in WHERE.values():
            assert tokenizer.unk_token_id not in tokenizer(phrase)['input_ids']


def test_build_vocab_is_stable_and_checks_its_size(tmp_path):
    texts = ['the red vehicle at the top left', 'the larger storage tank', 'a building on the left']
    path = build_vocab(texts, str(tmp_path / 'a'), vocab_size=200)
    with open(path, encoding='utf-8') as f:
        tokens = f.read().split()
    assert {'vehicle', 'storage', 'building', 'a', '##e'} <= set(tokens)
    with open(build_vocab(texts[::-1], str(tmp_path / 'b'), vocab_size=200), encoding='utf-8') as f:
        assert f.read().split() == tokens
    with pytest.raises(ValueError, match='vocab_size=40 is too small'):
        build_vocab(texts, str(tmp_path / 'c'), vocab_size=40)


def _singles_out(obj, peers, attribute):
    if attribute in ('color', 'color+position') and any(p['color'] == obj['color'] for p in peers):
        return False
    if (attribute in ('position', 'color+position')
            and any(p['position'] == obj['position'] for p in peers)):
        return False
    if attribute == 'size':
        return (obj['area'] >= SIZE_RATIO * max(p['area'] for p in peers)
                or obj['area'] * SIZE_RATIO <= min(p['area'] for p in peers))
    return True


@pytest.mark.parametrize('make', [make_refsegrs, make_rrsisd])
def test_text_is_needed_to_find_the_target(tmp_path, make):
    summary = make(str(tmp_path), 150, seed=7, size=48)
    first_attributes = []
    for record in summary['images']:
        objects = record['objects']
        for target in record['targets']:
            obj = objects[target['object']]
            peers = [o for i, o in enumerate(objects)
                     if i != target['object'] and o['category'] == obj['category']]
            assert target['same_category_count'] == len(peers) + 1 >= 2
            assert obj['category'] in target['expression']
            assert _singles_out(obj, peers, target['attribute']), target
            words = {'color': obj['color'], 'position': WHERE[obj['position']]}
            for key in target['attribute'].split('+'):
                assert words.get(key, '') in target['expression']
        assert any(o['category'] != objects[0]['category'] for o in objects), 'no distractor'
        first_attributes.append(record['targets'][0]['attribute'])
        # Objects are large enough for a small model at 48 px.
        assert min(o['area'] for o in objects) >= 0.015 * 48 * 48
    shares = {a: first_attributes.count(a) / len(first_attributes)
              for a in ('color', 'position', 'size')}
    assert 0.4 <= shares['color'] <= 0.6 and 0.2 <= shares['position'] <= 0.4
    assert 0.1 <= shares['size'] <= 0.3


def test_rrsisd_second_refs_point_at_other_objects(rrsisd):
    root, summary = rrsisd
    refs, instances = _load_rrsisd(root)
    masks = {a['id']: mask_utils.decode(a['segmentation']).sum(axis=-1)
             for a in instances['annotations']}
    by_image = {}
    for ref in refs:
        by_image.setdefault(ref['image_id'], []).append(ref)
    pairs = [r for r in by_image.values() if len(r) == 2]
    assert pairs and all(len(r) <= 2 for r in by_image.values())
    for first, second in pairs:
        assert first['category_id'] == second['category_id']
        assert not np.logical_and(masks[first['ann_id']], masks[second['ann_id']]).any()
        assert first['sentences'][0]['sent'] != second['sentences'][0]['sent']


def test_colour_pairs_write_each_image_twice_with_two_colour_targets(tmp_path):
    summary = make_refsegrs(str(tmp_path), 6, seed=0, size=48, colour_pairs=True)
    assert summary['attributes']['color'] == 12 and sum(summary['samples'].values()) == 12
    for split in SPLITS:
        lines = dict(line.rstrip('\n').split(' ', 1)
                     for line in open(tmp_path / f'output_phrase_{split}.txt'))
        assert len(lines) % 2 == 0
        for first in (int(i) for i in lines if int(i) % 2 == 0):
            a, b = (tifffile.imread(tmp_path / folder / f'{i}.tif')
                    for folder in ('images',) for i in (first, first + 1))
            np.testing.assert_array_equal(a, b)
            masks = [tifffile.imread(tmp_path / 'masks' / f'{i}.tif') > 0
                     for i in (first, first + 1)]
            assert all(m.any() for m in masks) and not (masks[0] & masks[1]).any()
            expressions = [lines[str(i)] for i in (first, first + 1)]
            assert expressions[0] != expressions[1]
            assert category_from_expression(expressions[0], REFSEGRS_CATEGORIES) == \
                category_from_expression(expressions[1], REFSEGRS_CATEGORIES)
    with pytest.raises(ValueError, match='no_target_share'):
        make_refsegrs(str(tmp_path), 4, colour_pairs=True, no_target_share=0.2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(size=40), 'at least 48'),
    (dict(split_ratios=(1, 1)), 'three non-negative'),
    (dict(split_ratios=(0, 0, 0)), 'positive sum'),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_refsegrs(str(tmp_path), 4, **kwargs)


def test_cli_writes_the_dataset(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    monkeypatch.setattr('sys.argv', ['make_synthetic.py', 'rrsisd', str(out), '--num-images', '10',
                                     '--seed', '3', '--size', '48', '--splits', '0.5,0.3,0.2'])
    script = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py')
    runpy.run_path(script, run_name='__main__')
    assert 'rrsisd: 10 images of 48 px' in capsys.readouterr().out
    refs, instances = _load_rrsisd(str(out))
    assert [sum(img_ref['split'] == s for img_ref in {r['image_id']: r for r in refs}.values())
            for s in SPLITS] == [5, 3, 2]
    assert len(instances['images']) == 10
