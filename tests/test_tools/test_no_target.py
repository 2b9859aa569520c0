"""tools/analysis/no_target.py: the arms' configs and a short end-to-end run."""
import json
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))

from no_target import arm_cfg, notarget_config_of  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'btdnet_tiny_synthetic.py')


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
    assert cfgs['existence'].model.existence_head.query_from == 'decode_head.fg_proj'


def test_script_trains_the_arms_and_reports(tmp_path):
    out = str(tmp_path / 'results.json')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/no_target.py', 'configs/btdnet_tiny_synthetic.py',
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
