"""check_dataset.py on RISBench (both layouts) and RSRefSeg2 JSONL files: the spec's odd files
reported in one pass."""
import importlib.util
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmrrsis.datasets.synthetic import make_jsonl, make_risbench

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
    root = tmp_path_factory.mktemp('check_risbench')
    return dict(
        crobim=make_risbench(str(root / 'crobim'), 8, seed=2, size=48),
        rsfm=make_risbench(str(root / 'rsfm'), 8, seed=2, size=48, layout='rsfm'),
        jsonl=make_jsonl(str(root / 'jsonl'), 6, dataset='risbench', seed=2, size=48))


def _kinds(report, fatal):
    return {p.kind: [q.where for q in report.problems if q.kind == p.kind]
            for p in report.problems if p.fatal == fatal}


@pytest.mark.parametrize('layout', ['crobim', 'rsfm'])
def test_clean_risbench_lists_only_the_written_quirks(pristine, layout):
    summary = pristine[layout]
    fmt = 'risbench' if layout == 'crobim' else 'risbench_rsfm'
    report = tool.check_dataset(fmt, summary['out_dir'])
    assert not report.fatal, report.format()
    assert report.samples == summary['samples']
    warnings = _kinds(report, False)
    mask_dir = 'mask' if layout == 'crobim' else 'masks'
    assert warnings['3-channel mask (channel 0 is read)'] == [f'{mask_dir}/train_0_0.png']
    assert len(warnings['mask values other than 0/255 (binarised with > 0)']) == 1
    assert len(warnings['blank line (skipped)']) == 1
    assert 'scene in more than one split' not in warnings  # val and test scenes stand apart
    assert set(report.mask_values) == {0, 1, 255}


def test_broken_risbench_reports_everything_at_once(pristine, tmp_path):
    root = str(tmp_path / 'broken')
    shutil.copytree(pristine['crobim']['out_dir'], root)
    with open(osp.join(root, 'output_phrase_train.txt')) as f:
        lines = f.read().splitlines()
    ids = [line.split(' ', 1)[0] for line in lines]
    os.remove(osp.join(root, 'mask', ids[2]))
    os.remove(osp.join(root, 'img_rgb', ids[3]))
    with open(osp.join(root, 'img_rgb', ids[4]), 'wb') as f:
        f.write(b'not a png')
    # a file of DiCoR's skip list, with an empty mask
    shutil.copy(osp.join(root, 'img_rgb', ids[0]), osp.join(root, 'img_rgb', 'train_819_1.png'))
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(osp.join(root, 'mask', 'train_819_1.png'))
    lines += ['train_819_1.png A building with a red roof.', f'{ids[0]} The same file again.',
              'test_0_0.png A scene of the test split.', 'train_5_0.png']
    with open(osp.join(root, 'output_phrase_train.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    report = tool.check_dataset('risbench', root)
    assert report.fatal
    fatal, warnings = _kinds(report, True), _kinds(report, False)
    n = len(lines)
    assert fatal['missing file'] == [f'mask/{ids[2]} (output_phrase_train.txt, line 3)',
                                     f'img_rgb/{ids[3]} (output_phrase_train.txt, line 4)']
    assert fatal['undecodable image'] == [f'img_rgb/{ids[4]}']
    assert fatal['empty expression'] == [f'output_phrase_train.txt, line {n}: image id '
                                         '"train_5_0.png"']
    assert warnings['mask without target pixels'] == ['mask/train_819_1.png']
    assert warnings['file DiCoR skips (reason not given)'] == [
        'train_819_1.png: expression names none of the 26 classes (category None); '
        'mask without target pixels']
    # ids[0] twice in train; test_0_0 and the val file train_5_0 also listed in train
    assert len(warnings['image id listed more than once (each line is a sample)']) == 3
    assert sorted(warnings['scene in more than one split']) == ['test_0: train, test',
                                                                'train_5: train, val']
    text = report.format()
    assert 'FATAL' in text and 'WARNINGS' in text and 'result: 4 fatal' in text


def test_jsonl_clean_then_broken(pristine, tmp_path, monkeypatch, capsys):
    summary = pristine['jsonl']
    report = tool.check_dataset('jsonl_risbench', summary['out_dir'])
    assert not report.fatal, report.format()
    assert report.samples == {s: len(v) for s, v in summary['jsonl_lines'].items()}
    monkeypatch.setattr('sys.argv', ['check_dataset.py', 'jsonl_risbench', summary['out_dir']])
    assert tool.main() == 0
    assert 'RISBench JSONL dataset at' in capsys.readouterr().out

    root = str(tmp_path / 'broken')
    shutil.copytree(summary['out_dir'], root)
    path = osp.join(root, 'datainfo', 'risbench_train.jsonl')
    records = [json.loads(t) for t in open(path)]
    records[0]['segmentation']['counts'] = 'oops~'
    records[1]['split'] = 'test'
    records[2]['segmentation'] = [dict(size=[48, 40], counts=records[2]['segmentation']['counts'])]
    os.remove(osp.join(root, 'img_rgb', records[3]['file_name']))
    lines = [json.dumps(r) for r in records] + ['{"split": "train"', '', '{"sent": "x"}']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    report = tool.check_dataset('jsonl_risbench', root, ['train'])
    fatal, warnings = _kinds(report, True), _kinds(report, False)
    rel = 'datainfo/risbench_train.jsonl'
    assert [w.split(':')[0] for w in fatal['corrupt RLE']] == [f'{rel}, line 1', f'{rel}, line 3']
    assert fatal["split differs from the file's"] == [f'{rel}, line 2: "test"']
    assert fatal['missing file'] == [f'img_rgb/{records[3]["file_name"]} ({rel}, line 4)']
    n = len(records)
    assert fatal['not a JSON object'] == [f'{rel}, line {n + 1}']
    assert fatal['line without the required keys'] == [
        f"{rel}, line {n + 3}: ['file_name', 'segmentation']"]
    assert warnings['blank line (skipped)'] == [f'{rel}, line {n + 2}']
    monkeypatch.setattr('sys.argv', ['check_dataset.py', 'jsonl_risbench', root])
    assert tool.main() == 1
