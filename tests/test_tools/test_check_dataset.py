"""tools/dataset_converters/check_dataset.py: one scan reports every problem of a dataset;
the command exits 0 on a clean dataset, 1 on fatal problems."""
import importlib.util
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from mmrrsis.datasets.synthetic import make_refsegrs, make_rrsisd

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'check_dataset.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('check_dataset', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()
check_dataset, check_refsegrs, check_rrsisd = (tool.check_dataset, tool.check_refsegrs,
                                               tool.check_rrsisd)


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp('check')
    summaries = dict(
        refsegrs=make_refsegrs(str(root / 'refsegrs'), num_images=6, seed=0, size=48),
        rrsisd=make_rrsisd(str(root / 'rrsisd'), num_images=12, seed=0, size=48))
    return root, summaries


def _copy(pristine, name, tmp_path):
    return str(shutil.copytree(pristine[0] / name, tmp_path / name))


def _kinds(report, fatal):
    return {p.kind: [q.where for q in report.problems if q.kind == p.kind]
            for p in report.problems if p.fatal == fatal}


def test_clean_refsegrs(pristine):
    root, summaries = pristine
    report = check_refsegrs(str(root / 'refsegrs'))
    assert not report.fatal and report.problems == []
    assert report.samples == summaries['refsegrs']['samples']
    assert report.image_formats == {'RGB uint8': 6}
    assert set(report.mask_values) == {0, 255} and sum(report.mask_values.values()) == 6 * 48 * 48
    text = report.format()
    assert 'result: 0 fatal problem(s), 0 warning(s)' in text and 'RGB uint8 6' in text


def test_broken_refsegrs_reports_everything_at_once(pristine, tmp_path):
    root = _copy(pristine, 'refsegrs', tmp_path)
    ids = sorted({line.split(' ', 1)[0] for split in ('train', 'val', 'test')
                  for line in open(osp.join(root, f'output_phrase_{split}.txt'))}, key=int)
    os.remove(osp.join(root, 'images', f'{ids[0]}.tif'))
    open(osp.join(root, 'masks', f'{ids[1]}.tif'), 'wb').write(b'broken')
    tifffile.imwrite(osp.join(root, 'masks', f'{ids[2]}.tif'),
                     np.full((48, 48), 128, np.uint8))
    tifffile.imwrite(osp.join(root, 'masks', f'{ids[3]}.tif'), np.zeros((40, 48), np.uint8))
    image = tifffile.imread(osp.join(root, 'images', f'{ids[4]}.tif'))
    tifffile.imwrite(osp.join(root, 'images', f'{ids[4]}.tif'), image.astype(np.uint16) * 257,
                     photometric='rgb')
    with open(osp.join(root, 'output_phrase_val.txt'), 'a') as f:
        f.write(f'{ids[5]}  \n{ids[5]} ' + 'word ' * 19 + '\n')
    report = check_refsegrs(root)
    fatal, warnings = _kinds(report, True), _kinds(report, False)
    assert report.fatal
    assert fatal['missing file'] == [f'images/{ids[0]}.tif (output_phrase_train.txt, line 1)']
    assert fatal['undecodable mask'] == [f'masks/{ids[1]}.tif']
    assert len(fatal['empty expression']) == 1
    assert fatal['empty expression'][0].startswith('output_phrase_val.txt, line ')
    assert warnings['mask values other than 0/255 (binarised with > 50)'] == [
        f'masks/{ids[2]}.tif: [128]']
    assert warnings['mask size differs from image (resized nearest by the loader)'] == [
        f'masks/{ids[3]}.tif: 40x48, image 48x48']
    assert f'masks/{ids[3]}.tif' in warnings['mask without target pixels']
    assert warnings['image converted to RGB uint8 by LoadReferringImage'] == [
        f'images/{ids[4]}.tif: RGB uint16']
    assert len(warnings['expression truncated to 20 tokens (more than 18 words)']) == 1
    assert report.image_formats == {'RGB uint8': 4, 'RGB uint16': 1}
    assert report.samples['val'] == 2 + sum(1 for _ in open(
        osp.join(pristine[0], 'refsegrs', 'output_phrase_val.txt')))
    text = report.format(max_examples=1)
    assert text.index('FATAL:') < text.index('WARNINGS:')
    assert f'result: 3 fatal problem(s), {len(report.problems) - 3} warning(s)' in text


def test_rrsisd_size_defects_are_warnings(pristine):
    root, summaries = pristine
    report = check_rrsisd(str(root / 'rrsisd'))
    assert not report.fatal
    assert report.samples == summaries['rrsisd']['samples']
    odd = _kinds(report, False)['RLE size differs from image (resized nearest by the loader)']
    assert len(odd) >= len(summaries['rrsisd']['odd_size_images'])
    assert set(report.mask_values) == {0, 1}


def test_broken_rrsisd_reports_everything_at_once(pristine, tmp_path):
    root = _copy(pristine, 'rrsisd', tmp_path)
    refs_path = osp.join(root, 'rrsisd', 'refs(unc).p')
    refs = pickle.load(open(refs_path, 'rb'))
    train = [r for r in refs if r['split'] == 'train']
    train[0]['ann_id'] = 999
    train[1]['sentences'][0]['sent'] = ' '
    refs.append(dict(train[2], split='testB', ref_id=500))
    pickle.dump(refs, open(refs_path, 'wb'))
    img_dir = osp.join(root, 'images', 'rrsisd', 'JPEGImages')
    os.remove(osp.join(img_dir, train[3]['file_name']))
    content = open(osp.join(img_dir, train[4]['file_name']), 'rb').read()
    open(osp.join(img_dir, train[4]['file_name']), 'wb').write(content[:len(content) // 2])
    report = check_rrsisd(root, splits=('train', ))
    fatal, warnings = _kinds(report, True), _kinds(report, False)
    assert fatal['unusable ref'][0].endswith('points at annotation id 999, which '
                                             'rrsisd/instances.json does not contain')
    assert fatal['empty expression'] == [f'rrsisd/refs(unc).p (ref_id {train[1]["ref_id"]}), '
                                         'sentence 0']
    assert fatal['missing file'] == [
        f'images/rrsisd/JPEGImages/{train[3]["file_name"]} '
        f'(rrsisd/refs(unc).p (ref_id {train[3]["ref_id"]}))']
    truncated = f'images/rrsisd/JPEGImages/{train[4]["file_name"]}'
    assert (fatal.get('truncated JPEG (no end-of-image marker)') == [truncated]
            or fatal.get('undecodable image') == [truncated])
    assert warnings['refs with an unknown split name (ignored)'] == ['"testB": 1 ref(s)']


def test_unreadable_annotations_and_missing_root(pristine, tmp_path):
    root = _copy(pristine, 'rrsisd', tmp_path)
    open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'wb').write(b'\x80\x04garbage')
    report = check_rrsisd(root)
    assert report.fatal and report.problems[0].kind == 'unreadable annotation file'
    assert 'cannot be read (corrupt or truncated?)' in report.problems[0].where
    report = check_refsegrs(str(tmp_path / 'nowhere'))
    assert report.fatal and report.problems[0].kind == 'missing data root'
    with pytest.raises(ValueError, match='unknown dataset layout'):
        check_dataset('refcoco', root)
    with pytest.raises(ValueError, match='unknown split'):
        check_dataset('rrsisd', root, ['testA'])


def _check(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_clean_then_broken_dataset(tmp_path):
    root = str(tmp_path / 'refsegrs')
    summary = make_refsegrs(root, num_images=6, seed=0, size=48)
    clean = _check('refsegrs', root)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    samples = ', '.join(f'{s} {n}' for s, n in summary['samples'].items())
    assert f'samples: {samples}' in clean.stdout
    assert 'result: 0 fatal problem(s), 0 warning(s)' in clean.stdout

    first_id = open(osp.join(root, 'output_phrase_train.txt')).readline().split(' ', 1)[0]
    os.remove(osp.join(root, 'images', f'{first_id}.tif'))
    with open(osp.join(root, 'output_phrase_test.txt'), 'a') as f:
        f.write(f'{first_id} \n')
    broken = _check('refsegrs', root)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    n_test = summary['samples']['test']
    assert f'images/{first_id}.tif (output_phrase_train.txt, line 1)' in broken.stdout
    assert f'output_phrase_test.txt, line {n_test + 1}: image id "{first_id}"' in broken.stdout
    assert 'result: 2 fatal problem(s)' in broken.stdout
