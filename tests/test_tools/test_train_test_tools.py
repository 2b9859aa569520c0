"""tools/train.py and tools/test.py end to end on CPU: train, validate, save, resume, test."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'language_gated',
                  'language-gated_swin-bert_tiny_synthetic.py')


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('runner')
    data = str(root / 'data')
    make_refsegrs(data, num_images=10, seed=0, size=48)
    return root, data


def _options(data, max_iters):
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
        f'model.data_preprocessor.tokenizer={vocab}', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False', 'test_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1', f'param_scheduler.1.end={max_iters}'
    ]


def test_train_validate_save_resume_and_test(workspace):
    root, data = workspace
    work = str(root / 'work')
    out = _run(['tools/train.py', CONFIG, '--work-dir', work] + _options(data, 2), cwd=REPO)
    assert 'Iter(val)' in out and 'mIoU' in out
    ckpt2 = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt2)
    state = torch.load(ckpt2, weights_only=True)  # safe loading of an mmengine checkpoint
    assert state['meta']['iter'] == 2
    assert 'message_hub' in state and 'optimizer' in state

    out = _run(['tools/train.py', CONFIG, '--work-dir', work, '--resume'] + _options(data, 4),
               cwd=REPO)
    assert 'resumed epoch: 0, iter: 2' in out
    state4 = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    assert state4['meta']['iter'] == 4
    changed = [k for k in state['state_dict']
               if not torch.equal(state['state_dict'][k], state4['state_dict'][k])]
    assert changed, 'resumed training must keep updating the weights'

    test_work = str(root / 'test_work')
    out = _run(['tools/test.py', CONFIG, osp.join(work, 'iter_4.pth'), '--work-dir', test_work,
                '--show-dir', 'vis'] + _options(data, 4), cwd=REPO)
    metrics_files = glob.glob(osp.join(test_work, '*', '*.json'))
    assert metrics_files, out[-2000:]
    metrics = json.load(open(metrics_files[0]))
    for key in ('oIoU', 'mIoU', 'Pr@0.5', 'Pr@0.9'):
        assert 0.0 <= metrics[key] <= 100.0
    pictures = glob.glob(osp.join(test_work, 'vis', '**', '*.png'), recursive=True)
    with open(osp.join(data, 'output_phrase_test.txt')) as f:
        n_test = sum(1 for line in f if line.strip())
    assert len(pictures) == n_test
