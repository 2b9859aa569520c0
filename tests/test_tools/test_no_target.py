"""tools/analysis/no_target.py: the arms' configs and a short end-to-end run."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'no_target', osp.join(REPO, 'tools', 'analysis', 'no_target.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()
arm_cfg, balanced_threshold, existence_diagnostics, notarget_config_of = (
    tool.arm_cfg, tool.balanced_threshold, tool.existence_diagnostics, tool.notarget_config_of)
CONFIG = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py')


def test_arms_differ_only_in_negatives_and_head(tmp_path):
    notarget = Config.fromfile(notarget_config_of(CONFIG))
    assert notarget_config_of(CONFIG).endswith('btdnet_tiny_synthetic_notarget.py')
    cfgs = {arm: arm_cfg(CONFIG, notarget, arm, str(tmp_path / 'data'), str(tmp_path / arm),
                         iters=3, seed=0, input_size=48)
            for arm in ('plain', 'negatives', 'existence')}
    for arm, cfg in cfgs.items():
        wrapped = [cfg[loader].dataset.type == 'NoTargetDataset'
                   for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        assert wrapped == [arm != 'plain', True, True]
        inner = cfg.test_dataloader.dataset.dataset
        assert inner.data_root == str(tmp_path / 'data') and inner.split == 'test'
        assert cfg.test_dataloader.dataset.negatives_file == 'no_target.json'
        assert ('existence_head' in cfg.model) == (arm == 'existence')
        assert cfg.train_cfg.max_iters == 3 and tuple(cfg.model.data_preprocessor.size) == (48, 48)
    assert cfgs['existence'].model.type == 'ExistenceEncoderDecoder'
    assert cfgs['existence'].model.existence_head.query_output == 'target_prototype'


def test_existence_diagnostics_by_hand():
    # (p, has_target, IoU of the unemptied mask): three targets, two found, and three negatives
    rows = np.array([[.9, 1, .8], [.8, 1, .6], [.3, 1, .1],
                     [.6, 0, 0.], [.2, 0, 0.], [.1, 0, 0.]])
    report = existence_diagnostics(rows, threshold=.5, val=rows)
    # 8 of the 9 (target, no-target) pairs are ordered right: only .3 < .6
    assert report['AUC'] == pytest.approx(8 / 9)
    assert report['mask mIoU'] == pytest.approx(50.0)
    assert report['found'] == pytest.approx(200 / 3)
    assert report['T-acc found'] == 100 and report['T-acc missed'] == 0
    assert report['AUC found'] == 1
    # min(N-acc, T-acc) is 2/3 at .3, .6 and .8; the lowest wins: N-acc 2/3, T-acc 1
    assert report['val threshold'] == pytest.approx(.3)
    assert report['N-acc at val threshold'] == pytest.approx(200 / 3)
    assert report['T-acc at val threshold'] == 100
    assert 'val threshold' not in existence_diagnostics(rows, threshold=.5)


def test_balanced_threshold():
    # every target scores below every negative: no threshold gets both above 0, and the
    # lowest candidate (all "present") wins the tie
    scores, present = np.array([.1, .2, .8, .9]), np.array([True, True, False, False])
    assert balanced_threshold(scores, present) == pytest.approx(.1)
    scores, present = np.array([.7, .9, .1, .2]), np.array([True, True, False, False])
    assert balanced_threshold(scores, present) == pytest.approx(.7)


def test_script_trains_the_arms_and_reports(tmp_path):
    out = str(tmp_path / 'results.json')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/no_target.py', 'configs/btdnet/btdnet_tiny_synthetic.py',
         '--num-images', '16', '--size', '48', '--input-size', '48', '--iters', '2',
         '--work-dir', str(tmp_path / 'work'), '--out', out],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'N-acc' in proc.stdout and 'mIoU(target)' in proc.stdout
    with open(out) as f:
        report = json.load(f)
    with open(osp.join(tmp_path, 'work', 'data', 'no_target.json')) as f:
        test_negatives = [e for e in json.load(f)['samples'] if e['split'] == 'test']
    assert report['share'] == 0.3 and set(report['results']) == {'plain', 'existence'}
    for res in report['results'].values():
        assert res['num_no_target'] == len(test_negatives) > 0
        for key in ('N-acc', 'T-acc', 'gIoU', 'cIoU', 'mIoU'):
            assert 0 <= res[key] <= 100
    diagnostics = report['results']['existence']['diagnostics']
    assert 'diagnostics' not in report['results']['plain']
    assert 0 <= diagnostics['AUC'] <= 1 and 0 <= diagnostics['mask mIoU'] <= 100
    assert 0 <= diagnostics['N-acc at val threshold'] <= 100
    assert 'AUC of p' in proc.stdout
