"""check_dataset.py on the REFER-style layouts with polygons: RRSIS-HR and NWPU-Refer."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import shutil

import pytest

from mmrrsis.datasets.synthetic import make_nwpu_refer, make_rrsishr

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'check_dataset.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('check_dataset', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp('check_refer')
    summaries = dict(rrsishr=make_rrsishr(str(root / 'rrsishr'), 6, seed=0, size=48),
                     nwpu_refer=make_nwpu_refer(str(root / 'nwpu_refer'), 6, seed=0, size=48))
    return root, summaries


def _kinds(report, fatal):
    return {p.kind: [q.where for q in report.problems if q.kind == p.kind]
            for p in report.problems if p.fatal == fatal}


def test_clean_sets(pristine):
    root, summaries = pristine
    report = tool.check_dataset('rrsishr', str(root / 'rrsishr'))
    assert report.problems == [] and report.samples == summaries['rrsishr']['samples']
    assert set(report.mask_values) == {0, 1}
    report = tool.check_dataset('nwpu_refer', str(root / 'nwpu_refer'))
    assert not report.fatal and report.samples == summaries['nwpu_refer']['samples']
    warnings = _kinds(report, False)
    assert warnings['refs with an unknown split name (ignored)'] == ['"testA": 1 ref(s)']
    multi = warnings['multi-target expression (one sample, the union of its refs)']
    assert len(multi) == sum(summaries['nwpu_refer']['multi_target_samples'].values())
    assert all('"all the ' in m for m in multi)
    summary = summaries['nwpu_refer']
    assert warnings['no-target expressions (empty mask, has_target=False)'] == [', '.join(
        f'{s} {summary["no_target_samples"][s]} of {n}' for s, n in summary['samples'].items())]
    assert 'NWPU-Refer dataset at' in report.format()


def test_broken_nwpu_refer_reports_everything_at_once(pristine, tmp_path):
    root = str(shutil.copytree(pristine[0] / 'nwpu_refer', tmp_path / 'nwpu'))
    with open(osp.join(root, 'new_refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    with open(osp.join(root, 'new_instances.json')) as f:
        instances = json.load(f)
    no_target = next(r for r in refs if r['category_id'] == 33)
    single = next(r for r in refs if r['category_id'] != 33 and r['split'] == 'train')
    ann = next(a for a in instances['annotations'] if a['id'] == no_target['ann_id'])
    ann['segmentation'] = [[1, 1, 9, 1, 9, 9]]
    broken = next(a for a in instances['annotations'] if a['id'] == single['ann_id'])
    broken['segmentation'] = [[1, 2, 3, 4]]
    refs.append(dict(single, ref_id=900, sentences=[dict(raw='只有中文', sent='只有中文')]))
    refs.append(dict(no_target, ref_id=901, sentences=[dict(raw='all the ships',
                                                            sent='all the ships')],
                     image_id=2))
    with open(osp.join(root, 'new_refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)
    with open(osp.join(root, 'new_instances.json'), 'w') as f:
        json.dump(instances, f)
    os.remove(osp.join(root, 'image', '00003.jpg'))
    report = tool.check_dataset('nwpu_refer', root)
    fatal, warnings = _kinds(report, True), _kinds(report, False)
    assert fatal['malformed segmentation'] == [
        f'annotation {broken["id"]} (new_refs(unc).p (ref_id {single["ref_id"]})): polygon 0 '
        'has 4 numbers, expected an even count of at least 6 (3 points)']
    assert fatal['missing file'] == ['image/00003.jpg (new_refs(unc).p (ref_id 6))']
    assert fatal['expression shared by no-target and object refs'] == [
        'image 2, "all the ships": refs [4, 5, 901]']
    assert warnings['ref without an English sentence (left out with language="en")'] == [
        'new_refs(unc).p (ref_id 900)']
    assert len(warnings['no-target ref whose annotation holds a mask (ignored: the loader gives '
                        'it an empty mask)']) == 2
    os.remove(osp.join(root, 'new_instances.json'))
    report = tool.check_dataset('nwpu_refer', root)
    assert [p.kind for p in report.problems] == ['missing annotation file']


def test_broken_rrsishr_polygon_and_categories(pristine, tmp_path):
    root = str(shutil.copytree(pristine[0] / 'rrsishr', tmp_path / 'hr'))
    path = osp.join(root, 'rrsishr', 'instances.json')
    with open(path) as f:
        instances = json.load(f)
    instances['annotations'][0]['segmentation'] = [[1, 2, 3, 4, 5, 6], [0, 0, 1, 1]]
    with open(path, 'w') as f:
        json.dump(instances, f)
    report = tool.check_dataset('rrsishr', root)
    assert _kinds(report, True) == {'malformed segmentation': [
        'annotation 1 (rrsishr/refs(unc).p (ref_id 1)): polygon 1 has 4 numbers, expected an '
        'even count of at least 6 (3 points)']}
    del instances['categories']
    with open(path, 'w') as f:
        json.dump(instances, f)
    report = tool.check_dataset('rrsishr', root)
    assert report.problems[0].kind == 'unreadable annotation file'
    assert 'has no "categories" list' in report.problems[0].where
