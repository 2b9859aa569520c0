"""Bad inputs: each gives a clear error naming the file (and line, ref or sample), or is
handled in a documented way and logged.

Fixtures are generated datasets (mmrrsis.datasets.synthetic) that each test copies and breaks.
"""
import json
import logging
import os
import os.path as osp
import pickle
import re
import shutil

import numpy as np
import pytest
import tifffile
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmseg.structures import SegDataSample
from PIL import Image

from mmrrsis.datasets import (KeyPhraseMasker, LoadReferringAnnotations, LoadReferringImage,
                              RefSegRSDataset, RRSISDDataset)
from mmrrsis.datasets.synthetic import make_refsegrs, make_rrsisd
from mmrrsis.models.data_preprocessors import ReferringDataPreProcessor
from mmrrsis.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINE = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferringInputs'),
]


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp('pristine')
    make_refsegrs(str(root / 'refsegrs'), num_images=6, seed=0, size=48)
    make_rrsisd(str(root / 'rrsisd'), num_images=12, seed=0, size=48)
    return root


@pytest.fixture
def refsegrs(pristine, tmp_path):
    return shutil.copytree(pristine / 'refsegrs', tmp_path / 'refsegrs')


@pytest.fixture
def rrsisd(pristine, tmp_path):
    return shutil.copytree(pristine / 'rrsisd', tmp_path / 'rrsisd')


@pytest.fixture
def logs():
    """Messages logged through mmengine's current logger during the test."""
    messages = []

    class Capture(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Capture()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def _phrase_lines(root, split='train'):
    with open(osp.join(root, f'output_phrase_{split}.txt'), encoding='utf-8') as f:
        return f.read().splitlines()


def _write_phrase_lines(root, lines, split='train'):
    with open(osp.join(root, f'output_phrase_{split}.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def _first_id(root, split='train'):
    return _phrase_lines(root, split)[0].split(' ', 1)[0]


def _refs_and_instances(root):
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    with open(osp.join(root, 'rrsisd', 'instances.json')) as f:
        return refs, json.load(f)


def _save_refs(root, refs):
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)


def _save_instances(root, instances):
    with open(osp.join(root, 'rrsisd', 'instances.json'), 'w') as f:
        json.dump(instances, f)


# ------------------------------------------------------------------------ files on disk
def test_missing_image_is_named_when_listed_and_when_loaded(refsegrs):
    img_id = _first_id(refsegrs)
    path = osp.join(refsegrs, 'images', f'{img_id}.tif')
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    os.remove(path)  # deleted after the dataset was built: found when the sample is loaded
    with pytest.raises(FileNotFoundError, match=rf'image {re.escape(path)} \(line 1, ref_id 0, '):
        ds[0]
    with pytest.raises(FileNotFoundError) as err:  # a new build lists it before training
        RefSegRSDataset(data_root=str(refsegrs), split='train')
    assert str(err.value).startswith('1 RefSegRS image file(s) listed in')
    assert path in str(err.value) and 'check_dataset.py' in str(err.value)


def test_missing_mask_is_named_when_listed_and_when_loaded(refsegrs):
    img_id = _first_id(refsegrs)
    path = osp.join(refsegrs, 'masks', f'{img_id}.tif')
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=rf'mask {re.escape(path)} \(line 1, ref_id 0, '):
        ds[0]
    with pytest.raises(FileNotFoundError, match=r'1 RefSegRS mask file\(s\) listed in'):
        RefSegRSDataset(data_root=str(refsegrs), split='train')


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'empty'])
def test_corrupt_image_bytes_name_the_file(refsegrs, damage):
    path = osp.join(refsegrs, 'images', f'{_first_id(refsegrs)}.tif')
    content = open(path, 'rb').read()
    new = {'garbage': b'this is not a tif' * 10, 'truncated': content[:len(content) // 3],
           'empty': b''}[damage]
    open(path, 'wb').write(new)
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError, match=rf'image {re.escape(path)} \(line 1, .*cannot be decoded '
                       r'\(corrupt or truncated'):
        ds[0]


def test_corrupt_mask_bytes_name_the_file(refsegrs):
    path = osp.join(refsegrs, 'masks', f'{_first_id(refsegrs)}.tif')
    open(path, 'wb').write(b'II*\x00broken')
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError, match=rf'mask {re.escape(path)} \(line 1, .*cannot be decoded'):
        ds[0]


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'not_a_list'])
def test_corrupt_refs_pickle_names_the_file(rrsisd, damage):
    path = osp.join(rrsisd, 'rrsisd', 'refs(unc).p')
    content = open(path, 'rb').read()
    if damage == 'not_a_list':
        pickle.dump({'refs': []}, open(path, 'wb'))
        match = r'holds a dict, expected a list of ref dicts'
    else:
        open(path, 'wb').write(content[:len(content) // 2] if damage == 'truncated'
                               else b'\x00garbage')
        match = r'cannot be read \(corrupt or truncated\?\)'
    with pytest.raises(ValueError, match=rf'RRSIS-D refs file {re.escape(path)} {match}'):
        RRSISDDataset(data_root=str(rrsisd), split='train')


def test_instances_json_missing_keys_or_invalid(rrsisd):
    path = osp.join(rrsisd, 'rrsisd', 'instances.json')
    refs, instances = _refs_and_instances(rrsisd)
    _save_instances(rrsisd, {k: v for k, v in instances.items() if k != 'annotations'})
    with pytest.raises(ValueError, match=rf'{re.escape(path)} has no "annotations" list '
                       r"\(found keys: \['categories', 'images'\]\)"):
        RRSISDDataset(data_root=str(rrsisd), split='train')
    del instances['annotations'][3]['id']
    _save_instances(rrsisd, instances)
    with pytest.raises(ValueError, match=rf'{re.escape(path)}: "annotations" entry 3 has no "id"'):
        RRSISDDataset(data_root=str(rrsisd), split='train')
    open(path, 'w').write('{"images": [')
    with pytest.raises(ValueError, match=rf'{re.escape(path)} is not valid JSON'):
        RRSISDDataset(data_root=str(rrsisd), split='train')


def test_rle_size_differing_from_image_is_resized_and_logged_once(rrsisd, logs):
    refs, instances = _refs_and_instances(rrsisd)
    images = {img['id']: img for img in instances['images']}
    anns = {a['id']: a for a in instances['annotations']}

    def odd(ref):
        image = images[ref['image_id']]
        return anns[ref['ann_id']]['segmentation'][0]['size'] != [image['height'], image['width']]

    split = next(r['split'] for r in refs if odd(r))
    n_odd = sum(odd(r) for r in refs if r['split'] == split)
    ds = RRSISDDataset(data_root=str(rrsisd), split=split, pipeline=PIPELINE)
    resize_logs = [m for m in logs if 'RLE size different' in m]
    assert resize_logs == [f'RRSIS-D {split}: {n_odd} mask(s) have an RLE size different from '
                           'their image; they will be resized (nearest) to the image size.']
    for i in range(len(ds)):
        if odd(next(r for r in refs if r['ref_id'] == ds.get_data_info(i)['ref_id'])):
            sample = ds[i]
            assert sample['data_samples'].gt_sem_seg.data.shape[1:] == sample['inputs'].shape[1:]


def test_refsegrs_mask_size_differing_from_image_is_resized_and_logged_once(refsegrs, logs):
    ids = list(dict.fromkeys(line.split(' ', 1)[0] for line in _phrase_lines(refsegrs)))[:2]
    originals = {}
    for img_id in ids:
        path = osp.join(refsegrs, 'masks', f'{img_id}.tif')
        originals[img_id] = tifffile.imread(path)
        tifffile.imwrite(path, np.kron(originals[img_id], np.ones((2, 2), np.uint8)))  # 96x96
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    for i in range(len(ds)):
        img_id = ds.get_data_info(i)['image_id']
        if img_id in originals:
            gt = ds[i]['data_samples'].gt_sem_seg.data[0].numpy()
            np.testing.assert_array_equal(gt, (originals[img_id] > 50).astype(np.int64))
    resize_logs = [m for m in logs if 'resized (nearest) to the image' in m]
    assert len(resize_logs) == 1 and 'is 96x96 but its image is 48x48' in resize_logs[0]


# ---------------------------------------------------------------------- annotations
def test_ref_pointing_at_unknown_annotation(rrsisd):
    refs, _ = _refs_and_instances(rrsisd)
    ref = next(r for r in refs if r['split'] == 'train')
    ref['ann_id'] = 9999
    _save_refs(rrsisd, refs)
    with pytest.raises(ValueError, match=rf"refs\(unc\).p \(ref_id {ref['ref_id']}\) points at "
                       r'annotation id 9999, which .*instances.json does not contain'):
        RRSISDDataset(data_root=str(rrsisd), split='train')


def test_ref_missing_keys_or_annotation_without_rle(rrsisd):
    refs, instances = _refs_and_instances(rrsisd)
    ref = next(r for r in refs if r['split'] == 'train')
    ann = next(a for a in instances['annotations'] if a['id'] == ref['ann_id'])
    ann['segmentation'] = [[1.0, 2.0, 30.0, 2.0, 30.0, 40.0]]  # a COCO polygon, not an RLE
    _save_instances(rrsisd, instances)
    with pytest.raises(ValueError, match=rf"annotation {ann['id']} \(used by .*ref_id "
                       rf"{ref['ref_id']}\)\) has no RLE segmentation .*polygons are not"):
        RRSISDDataset(data_root=str(rrsisd), split='train')
    del ref['file_name']
    _save_refs(rrsisd, refs)
    with pytest.raises(ValueError, match=rf"ref_id {ref['ref_id']}\) lacks the key\(s\) "
                       r"\['file_name'\]"):
        RRSISDDataset(data_root=str(rrsisd), split='train')


@pytest.mark.parametrize('text', ['', '   \t '], ids=['empty', 'whitespace'])
def test_empty_or_whitespace_expression_names_line_or_ref(refsegrs, rrsisd, text):
    lines = _phrase_lines(refsegrs)
    img_id = lines[0].split(' ', 1)[0]
    _write_phrase_lines(refsegrs, lines[:2] + [f'{img_id} {text}'] + lines[2:])
    with pytest.raises(ValueError, match=rf'output_phrase_train.txt, line 3: image id '
                       rf'"{img_id}" has an empty expression'):
        RefSegRSDataset(data_root=str(refsegrs), split='train')

    refs, _ = _refs_and_instances(rrsisd)
    ref = next(r for r in refs if r['split'] == 'val')
    ref['sentences'][0]['sent'] = text
    _save_refs(rrsisd, refs)
    with pytest.raises(ValueError, match=rf"ref_id {ref['ref_id']}\): sentence 0 \(sent_id "
                       rf"{ref['sentences'][0]['sent_id']}\) is empty"):
        RRSISDDataset(data_root=str(rrsisd), split='val')


def test_phrase_file_not_utf8_names_file_and_line(refsegrs):
    path = osp.join(refsegrs, 'output_phrase_train.txt')
    lines = open(path, 'rb').read().splitlines()
    lines[1] = lines[1].split(b' ')[0] + b' the caf\xe9 roof'  # Latin-1, not UTF-8
    open(path, 'wb').write(b'\n'.join(lines) + b'\n')
    with pytest.raises(ValueError, match=rf'{re.escape(path)}, line 2: not UTF-8 text'):
        RefSegRSDataset(data_root=str(refsegrs), split='train')


def test_missing_phrase_file_and_empty_split(refsegrs):
    path = osp.join(refsegrs, 'output_phrase_val.txt')
    open(path, 'w').write('\n\n')
    with pytest.raises(ValueError, match=rf'RefSegRS val: {re.escape(path)} lists no sample'):
        RefSegRSDataset(data_root=str(refsegrs), split='val')
    os.remove(path)
    with pytest.raises(FileNotFoundError,
                       match=rf'RefSegRS phrase file {re.escape(path)} is missing'):
        RefSegRSDataset(data_root=str(refsegrs), split='val')


def test_unknown_split_name(refsegrs, rrsisd):
    with pytest.raises(ValueError, match=r'RefSegRSDataset: unknown split "validation"; '
                       r"choose one of \('train', 'val', 'test'\)"):
        RefSegRSDataset(data_root=str(refsegrs), split='validation')
    with pytest.raises(ValueError, match='RRSISDDataset: unknown split "testA"'):
        RRSISDDataset(data_root=str(rrsisd), split='testA')


def test_config_with_missing_data_root(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet', 'btdnet_swinb_rrsisd.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(tmp_path / 'RRSIS-D')
    root = re.escape(str(tmp_path / 'RRSIS-D'))
    with pytest.raises(FileNotFoundError, match=rf'RRSISDDataset: data_root "{root}" does not '
                       r'exist. Set `data_root` in the dataset config'):
        DATASETS.build(dataset_cfg)


def test_sample_without_mask_source_is_a_value_error():
    with pytest.raises(ValueError, match=r'sample a.tif \(ref_id 7\) has neither an "rle" nor '
                       r'a "seg_map_path"'):
        LoadReferringAnnotations()(dict(img_path='a.tif', ref_id=7, seg_map_path=None))
    with pytest.raises(ValueError, match='KeyPhraseMasker: sample a.tif has no "expression"'):
        KeyPhraseMasker(backend='lexicon')(dict(img_path='a.tif'))


# ------------------------------------------------------------------------ mask values
def test_mask_values_other_than_0_255_are_binarised_and_logged_once(tmp_path, logs):
    values = np.array([[0, 30, 50, 51], [128, 200, 255, 0]], dtype=np.uint8)
    paths = []
    for i in range(2):
        paths.append(str(tmp_path / f'm{i}.tif'))
        tifffile.imwrite(paths[-1], values)
    load = LoadReferringAnnotations()
    for path in paths:
        gt = load(dict(seg_map_path=path, img_shape=(2, 4)))['gt_seg_map']
        np.testing.assert_array_equal(gt, [[0, 0, 0, 1], [1, 1, 1, 0]])
    value_logs = [m for m in logs if 'values other than 0/255' in m]
    assert value_logs == [f'mask {paths[0]} holds values other than 0/255 (0, 30, 50, 51, 128, '
                          '200, 255); pixels > 50 are target; further masks like this are not '
                          'logged.']
    zero_one = str(tmp_path / 'zero_one.tif')
    tifffile.imwrite(zero_one, (values > 100).astype(np.uint8))
    assert load(dict(seg_map_path=zero_one))['gt_seg_map'].sum() == 0
    assert any('mask_threshold=0' in m and zero_one in m for m in logs)
    gt = LoadReferringAnnotations(mask_threshold=0)(dict(seg_map_path=zero_one))['gt_seg_map']
    assert gt.sum() == 3


# ------------------------------------------------------------------------ image formats
@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)


def test_grayscale_image_becomes_three_channels(tmp_path, rgb, logs):
    gray = rgb[..., 0]
    tifffile.imwrite(tmp_path / 'gray.tif', gray, photometric='minisblack')
    Image.fromarray(gray).save(tmp_path / 'gray.png')
    Image.fromarray(np.stack([gray, gray], -1), mode='LA').save(tmp_path / 'gray_alpha.png')
    load = LoadReferringImage()
    for name in ('gray.tif', 'gray.png', 'gray_alpha.png'):
        img = load(dict(img_path=str(tmp_path / name)))['img']
        assert img.shape == (6, 5, 3) and img.dtype == np.uint8
        np.testing.assert_array_equal(img, np.repeat(gray[..., None], 3, axis=2))
    assert len([m for m in logs if 'grayscale image repeated to 3 channels' in m]) == 1


def test_rgba_image_drops_alpha(tmp_path, rgb, logs):
    alpha = np.full(rgb.shape[:2] + (1, ), 7, np.uint8)
    Image.fromarray(np.concatenate([rgb, alpha], -1)).save(tmp_path / 'rgba.png')
    tifffile.imwrite(tmp_path / 'rgba.tif', np.concatenate([rgb, alpha], -1), photometric='rgb',
                     extrasamples=['unassalpha'])
    img = LoadReferringImage()(dict(img_path=str(tmp_path / 'rgba.png')))['img']
    np.testing.assert_array_equal(img, rgb[..., ::-1])  # BGR, as LoadImageFromFile gives
    # OpenCV premultiplies TIFF RGB by an unassociated alpha; tifffile keeps it as stored.
    img = LoadReferringImage(imdecode_backend='tifffile')(
        dict(img_path=str(tmp_path / 'rgba.tif')))['img']
    np.testing.assert_array_equal(img, rgb[..., ::-1])
    assert any('alpha channel dropped' in m for m in logs)


def test_16bit_tiff_is_scaled_to_8bit(tmp_path, rgb, logs):
    path = str(tmp_path / 'u16.tif')
    tifffile.imwrite(path, rgb.astype(np.uint16) * 257, photometric='rgb')
    img = LoadReferringImage()(dict(img_path=path))['img']
    assert img.dtype == np.uint8
    np.testing.assert_array_equal(img, rgb[..., ::-1])  # v * 257 / 257 round-trips exactly
    assert any('16-bit image scaled to 8 bits (value / 257)' in m for m in logs)

    twelve_bit = (rgb.astype(np.uint16) * 16)  # 0..4080, as 12-bit sensors store
    tifffile.imwrite(path, twelve_bit, photometric='rgb')
    dark = LoadReferringImage()(dict(img_path=path))['img']
    assert dark.max() <= 16
    stretched = LoadReferringImage(to_uint8='minmax')(dict(img_path=path))['img']
    low, high = twelve_bit.min(), twelve_bit.max()
    expected = np.round((twelve_bit - low) * (255 / (high - low))).astype(np.uint8)
    np.testing.assert_array_equal(stretched, expected[..., ::-1])


def test_unsupported_images_are_refused_with_a_hint(tmp_path):
    path = str(tmp_path / 'float.tif')
    tifffile.imwrite(path, np.random.default_rng(0).random((4, 4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=rf'image {re.escape(path)} \(ref_id 2\) has pixel '
                       r"type float32.*LoadReferringImage\(to_uint8='minmax'\)"):
        LoadReferringImage()(dict(img_path=path, ref_id=2))
    assert LoadReferringImage(to_uint8='minmax')(dict(img_path=path))['img'].dtype == np.uint8
    path = str(tmp_path / 'five_bands.tif')
    tifffile.imwrite(path, np.zeros((4, 4, 5), np.uint8), planarconfig='contig',
                     photometric='minisblack')
    with pytest.raises(ValueError, match=rf'image {re.escape(path)} has shape .*expected a '
                       'grayscale, RGB or RGBA image'):
        LoadReferringImage(imdecode_backend='tifffile')(dict(img_path=path))
    with pytest.raises(ValueError, match='to_uint8 must be one of'):
        LoadReferringImage(to_uint8='clip')


def test_rgb_images_load_as_mmcv_loads_them(refsegrs):
    from mmcv.transforms import LoadImageFromFile
    path = osp.join(refsegrs, 'images', f'{_first_id(refsegrs)}.tif')
    ours, mmcv_result = LoadReferringImage()(dict(img_path=path)), LoadImageFromFile()(
        dict(img_path=path))
    np.testing.assert_array_equal(ours['img'], mmcv_result['img'])
    assert ours['img_shape'] == ours['ori_shape'] == (48, 48)


# ---------------------------------------------------------------------------- text
@pytest.fixture(scope='module')
def preprocessor(pristine):
    vocab = osp.join(pristine, 'refsegrs', 'bert_vocab', 'vocab.txt')
    return ReferringDataPreProcessor(tokenizer=vocab, max_length=20)


def _batch(expressions, spans=None):
    samples = [SegDataSample(metainfo=dict(expression=e, key_phrase_spans=(spans or {}).get(e)))
               for e in expressions]
    return dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * len(samples),
                data_samples=samples)


def test_long_expression_is_truncated_and_logged_once(preprocessor, logs):
    preprocessor._warned_truncation = False
    long_text = ' '.join(['the red car on the left'] * 6)  # 36 words
    for _ in range(2):
        data = preprocessor(_batch([long_text, 'the red car', long_text]))
    text = data['data_samples'][0].text
    assert text.input_ids.shape == (20, ) and bool(text.attention_mask.all())
    assert text.input_ids[-1] == preprocessor.tokenizer.sep_token_id
    assert data['data_samples'][1].text.attention_mask.sum() == 5  # [CLS] the red car [SEP]
    truncation_logs = [m for m in logs if 'longer than 20 tokens' in m]
    assert truncation_logs == [f'expression "{long_text}" is longer than 20 tokens and was '
                               'truncated; further truncations are not logged.']


def test_non_ascii_expressions_tokenize_and_mask(preprocessor):
    tokenizer = preprocessor.tokenizer
    masker = KeyPhraseMasker(backend='lexicon', span='noun')
    expressions = ['the café car 🚗 on the left', '左边的红色 car', 'the naïve bus ☀️']
    spans = {e: masker(dict(expression=e))['key_phrase_spans'] for e in expressions}
    assert [e[s:t] for e in expressions for s, t in spans[e]] == ['car', 'car', 'bus']
    data = preprocessor(_batch(expressions, spans))
    pad, unk = tokenizer.pad_token_id, tokenizer.unk_token_id
    for sample, expression in zip(data['data_samples'], expressions):
        enc = tokenizer(expression, return_offsets_mapping=True)
        n = len(enc['input_ids'])
        ids, masked = sample.text.input_ids, sample.text.masked_ids
        assert ids[:n].tolist() == enc['input_ids'] and int(sample.text.attention_mask.sum()) == n
        changed = (ids != masked).nonzero().flatten().tolist()
        assert [expression[slice(*enc['offset_mapping'][j])] for j in changed] == \
            [expression[slice(*spans[expression][0])]]
        assert all(masked[j] == pad for j in changed)
    first = data['data_samples'][0].text.input_ids.tolist()
    pieces = tokenizer.convert_ids_to_tokens(first[:first.index(tokenizer.sep_token_id) + 1])
    assert pieces[:3] == ['[CLS]', 'the', 'c'] and '[UNK]' in pieces  # café -> cafe; emoji
    assert unk in data['data_samples'][1].text.input_ids.tolist()  # Chinese characters


def test_non_ascii_expression_survives_the_dataset(refsegrs):
    lines = _phrase_lines(refsegrs)
    img_id = lines[0].split(' ', 1)[0]
    _write_phrase_lines(refsegrs, [f'{img_id} the café roof 屋顶 🏠'] + lines[1:])
    ds = RefSegRSDataset(data_root=str(refsegrs), split='train', pipeline=PIPELINE)
    assert ds[0]['data_samples'].metainfo['expression'] == 'the café roof 屋顶 🏠'
