"""RISBenchDataset on synthetic data in both layouts, the spec's quirks and bad input."""
import filecmp
import logging
import os
import os.path as osp
import runpy
import shutil

import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image

from mmrrsis.datasets import RISBENCH_CATEGORIES, RISBenchDataset, category_from_expression
from mmrrsis.datasets.risbench import risbench_category, scene_of
from mmrrsis.datasets.synthetic import make_risbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PIPELINE = [
    dict(type='LoadReferringImage'),
    dict(type='LoadReferringAnnotations', mask_threshold=0),
    dict(type='PackReferringInputs'),
]


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp('risbench')
    crobim = make_risbench(str(root / 'crobim'), num_images=10, seed=0, size=48)
    rsfm = make_risbench(str(root / 'rsfm'), num_images=10, seed=0, size=48, layout='rsfm')
    return crobim, rsfm


@pytest.fixture
def logs():
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    yield lambda: [r.getMessage() for r in records]
    logger.removeHandler(handler)


def _targets(summary, split):
    return [t for r in summary['images'] if r['split'] == split for t in r['targets']]


def _gt(sample):
    return sample['data_samples'].gt_sem_seg.data[0].numpy()


def test_crobim_layout_samples_texts_ids_categories(written):
    summary, _ = written
    root = summary['out_dir']
    for split in ('train', 'val', 'test'):
        ds = RISBenchDataset(data_root=root, split=split, pipeline=PIPELINE)
        targets = _targets(summary, split)
        assert len(ds) == summary['samples'][split] == len(targets)
        for i, target in enumerate(targets):
            info = ds.get_data_info(i)
            assert info['image_id'] == target['file'] and info['image_id'].endswith('.png')
            assert info['expression'] == target['expression']
            assert info['img_path'] == osp.join(root, 'img_rgb', target['file'])  # no .png.png
            assert info['seg_map_path'] == osp.join(root, 'mask', target['file'])
            assert info['category'] == target['category']
            assert info['scene_id'] == target['file'].rsplit('_', 1)[0]
            assert info.get('has_target', True)
    assert ds.metainfo['categories'] == RISBENCH_CATEGORIES and len(RISBENCH_CATEGORIES) == 26
    # val was carved out of the train pool: its files keep the train_ prefix
    val = RISBenchDataset(data_root=root, split='val')
    assert all(val.get_data_info(i)['image_id'].startswith('train_') for i in range(len(val)))
    # double spaces and the space before the full stop are kept
    assert '  ' in RISBenchDataset(data_root=root).get_data_info(1)['expression']


def test_masks_pixel_exact_including_three_channel_and_0_1(written):
    summary, _ = written
    ds = RISBenchDataset(data_root=summary['out_dir'], split='train', pipeline=PIPELINE)
    raw = [np.asarray(Image.open(ds.get_data_info(i)['seg_map_path'])) for i in range(len(ds))]
    assert raw[0].ndim == 3 and raw[0].shape[2] == 3  # replicated 3-channel mask
    assert set(np.unique(raw[1])) == {0, 1}  # a 0/1 mask still has its target at threshold 0
    for i in range(len(ds)):
        sample = ds[i]
        expected = (raw[i][..., 0] if raw[i].ndim == 3 else raw[i]) > 0
        np.testing.assert_array_equal(_gt(sample), expected.astype(np.int64))
        assert _gt(sample).sum() > 0
        assert sample['data_samples'].metainfo['category'] == ds.get_data_info(i)['category']


def test_rsfm_layout_gives_the_same_samples(written):
    crobim, rsfm = written
    for split in ('train', 'test'):
        a = RISBenchDataset(data_root=crobim['out_dir'], split=split, pipeline=PIPELINE)
        b = RISBenchDataset(data_root=rsfm['out_dir'], split=split, layout='rsfm',
                            pipeline=PIPELINE)
        assert len(a) == len(b)
        for i in range(len(a)):
            ia, ib = a.get_data_info(i), b.get_data_info(i)
            assert ia['image_id'] == ib['image_id'] + '.png'
            assert ib['img_path'] == osp.join(rsfm['out_dir'], 'images', ia['image_id'])
            assert ib['seg_map_path'] == osp.join(rsfm['out_dir'], 'masks', ia['image_id'])
            assert (ia['expression'], ia['category']) == (ib['expression'], ib['category'])
            np.testing.assert_array_equal(_gt(a[i]), _gt(b[i]))


def test_category_is_the_earliest_name_or_alias():
    assert risbench_category('The harbor with a ship docked at the pier.') == 'harbor'
    assert risbench_category("The ship docked at the right-most harbor's pier.") == 'ship'
    assert risbench_category('The left-most plane on the tarmac.') == 'airplane'
    assert risbench_category('The  small vehicle near the top of the image .') == 'vehicle'
    assert risbench_category('Two storage tanks east of a track and field.') == 'storage tank'
    assert risbench_category('A soccer-ball-shaped field next to a tank.') == 'soccer ball field'
    assert risbench_category('The baseball field beside the golf course.') == 'baseball diamond'
    assert risbench_category('Baseball  diamond at the bottom .') == 'baseball diamond'
    assert risbench_category('A building with a red roof.') is None
    # RefSegRS's longest-name rule would pick the second object here
    text = 'The red airplane, in a scene that also shows a baseball diamond.'
    assert category_from_expression(text, RISBENCH_CATEGORIES) == 'baseball diamond'
    assert risbench_category(text) == 'airplane'
    assert scene_of('train_14700_3.png') == 'train_14700' and scene_of('odd.png') == 'odd'


@pytest.fixture
def copy_root(written, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(written[0]['out_dir'], root)
    return root


def _write(root, split, lines):
    with open(osp.join(root, f'output_phrase_{split}.txt'), 'w') as f:
        f.write(''.join(line + '\n' for line in lines))


def test_spec_lines_blank_lines_duplicates_and_no_category(copy_root, logs):
    _write(copy_root, 'val', ['train_3_0.png The harbor with a ship docked at the pier.', '',
                              'train_0_0.png The left-most plane on the tarmac.',
                              'train_0_0.png A building with a red roof.', '   '])
    ds = RISBenchDataset(data_root=copy_root, split='val')
    assert len(ds) == 3
    assert [ds.get_data_info(i)['line'] for i in range(3)] == [1, 3, 4]
    assert [ds.get_data_info(i)['category'] for i in range(3)] == ['harbor', 'airplane', None]
    text = '\n'.join(logs())
    assert '1 blank line(s)' in text and 'first: line 2' in text
    assert '1 image id(s) listed more than once' in text and 'train_0_0.png' in text
    assert '1 expression(s) name none of the 26 classes' in text


def test_missing_image_and_mask_in_one_error_with_lines(copy_root):
    lines = open(osp.join(copy_root, 'output_phrase_train.txt')).read().splitlines()
    first, second = lines[0].split(' ')[0], lines[2].split(' ')[0]
    os.remove(osp.join(copy_root, 'mask', first))
    os.remove(osp.join(copy_root, 'img_rgb', second))
    with pytest.raises(FileNotFoundError) as e:
        RISBenchDataset(data_root=copy_root, split='train')
    msg = str(e.value)
    assert msg.startswith('2 RISBench image or mask file(s) are missing')
    assert osp.join(copy_root, 'mask', first) + ' (output_phrase_train.txt, line 1)' in msg
    assert osp.join(copy_root, 'img_rgb', second) + ' (output_phrase_train.txt, line 3)' in msg


def test_bad_input(copy_root):
    with pytest.raises(ValueError, match='unknown split "trainval"'):
        RISBenchDataset(data_root=copy_root, split='trainval')
    with pytest.raises(ValueError, match='unknown layout "lscf"'):
        RISBenchDataset(data_root=copy_root, layout='lscf')
    with pytest.raises(FileNotFoundError, match='RISBench phrase file .*output_phrase_val.txt'):
        os.remove(osp.join(copy_root, 'output_phrase_val.txt'))
        RISBenchDataset(data_root=copy_root, split='val')
    _write(copy_root, 'test', ['test_0_0.png A ship.', 'test_0_2.png'])
    with pytest.raises(ValueError, match=r'output_phrase_test.txt, line 2: image id '
                       r'"test_0_2.png" has an empty expression'):
        RISBenchDataset(data_root=copy_root, split='test')
    with pytest.raises(FileNotFoundError, match='data_root'):
        RISBenchDataset(data_root=osp.join(copy_root, 'nowhere'))


def test_cli_writes_both_layouts_and_jsonl(tmp_path, monkeypatch, capsys, written):
    script = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py')
    for args in (['risbench', str(tmp_path / 'r'), '--layout', 'rsfm'],
                 ['jsonl', str(tmp_path / 'j'), '--source', 'rrsisd']):
        monkeypatch.setattr('sys.argv', ['make_synthetic.py'] + args +
                            ['--num-images', '10', '--size', '48'])
        runpy.run_path(script, run_name='__main__')
    out = capsys.readouterr().out
    assert 'risbench: 10 images of 48 px' in out and 'JSONL (rrsisd)' in out
    # the same seed writes the same files as the writer called directly
    for rel in ('phrase_txts/output_phrase_train.txt', 'masks/train_0_0.png', 'images/test_0_0.png'):
        assert filecmp.cmp(osp.join(tmp_path, 'r', rel), osp.join(written[1]['out_dir'], rel),
                           shallow=False)
    assert osp.isfile(tmp_path / 'j' / 'datainfo' / 'rrsisd_test.jsonl')
