"""The tiny BTDNet and LAVT with the existence head train 100 iterations on synthetic NWPU-Refer
data through tools/train.py and score through tools/test.py (N-acc, T-acc, gIoU, cIoU)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmrrsis.datasets.synthetic import make_nwpu_refer

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ITERS = 100
SIZE = 32  # network input: 32 px and batch 2 keep the 100 iterations short


def _run(args):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('nwpu') / 'data')
    return root, make_nwpu_refer(root, num_images=10, seed=0, size=48)


def _options(data):
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    options = [f'model.data_preprocessor.tokenizer={vocab}',
               f'model.data_preprocessor.size=({SIZE},{SIZE})',
               'train_dataloader.batch_size=2', f'train_cfg.max_iters={ITERS}',
               f'train_cfg.val_interval={ITERS}', f'default_hooks.checkpoint.interval={ITERS}',
               'default_hooks.logger.interval=50', 'param_scheduler.0.end=10',
               'param_scheduler.1.begin=10', f'param_scheduler.1.end={ITERS}',
               'default_hooks.visualization.draw=False']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={data}', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    for loader, resize in (('train_dataloader', 2), ('val_dataloader', 1),
                           ('test_dataloader', 1)):
        options.append(f'{loader}.dataset.pipeline.{resize}.scale=({SIZE},{SIZE})')
    return ['--cfg-options'] + options


@pytest.mark.parametrize('method', ['btdnet', 'lavt'])
def test_train_and_test_tiny_notarget_model(data, method, tmp_path):
    root, summary = data
    config = osp.join(REPO, 'configs', method,
                      f'{method}_tiny_synthetic-nwpu-refer_notarget.py')
    work = str(tmp_path / 'work')
    out = _run(['tools/train.py', config, '--work-dir', work] + _options(root))
    assert f'Iter(train) [{ITERS}/{ITERS}]' in out and 'N-acc' in out
    assert 'exist.loss_exist' in out
    checkpoint = osp.join(work, f'iter_{ITERS}.pth')
    assert osp.isfile(checkpoint)

    test_work = str(tmp_path / 'test')
    _run(['tools/test.py', config, checkpoint, '--work-dir', test_work] + _options(root))
    metrics = json.load(open(glob.glob(osp.join(test_work, '*', '*.json'))[0]))
    assert metrics['num_samples'] == summary['samples']['test']
    assert metrics['num_no_target'] == summary['no_target_samples']['test'] > 0
    for key in ('oIoU', 'mIoU', 'N-acc', 'T-acc', 'gIoU', 'cIoU'):
        assert 0.0 <= metrics[key] <= 100.0, key
