"""tools/test.py on 2 CPU processes (torchrun, gloo) scores exactly as on one process.

The test split has an odd number of samples, so mmengine's DefaultSampler pads the second
rank with a duplicate; the metric must still count each sample once.
"""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmrrsis.datasets.synthetic import make_refsegrs
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'language_gated',
                  'language-gated_swin-bert_tiny_synthetic.py')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    data = str(root / 'data')
    summary = make_refsegrs(data, num_images=16, seed=2, size=48)
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    cfg = Config.fromfile(CONFIG)
    cfg.model.data_preprocessor.tokenizer = vocab
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = str(root / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return root, data, checkpoint, summary['samples']['test']


def _options(data, batch_size):
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    return [
        '--cfg-options', f'test_dataloader.dataset.data_root={data}',
        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
        f'model.data_preprocessor.tokenizer={vocab}', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', f'test_dataloader.batch_size={batch_size}',
        'default_hooks.visualization.draw=False'
    ]


def _metrics(cmd, work, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = glob.glob(osp.join(work, '*', '*.json'))
    assert len(files) == 1, files
    # mmengine's scalar log is JSON lines; under heavy load a multi-process run was seen to
    # write its test line twice, so every line must carry the same metrics
    with open(files[0]) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    timing = ('time', 'data_time')
    metrics = [{k: v for k, v in line.items() if k not in timing} for line in lines]
    assert metrics and all(m == metrics[0] for m in metrics), metrics
    return lines[-1], proc.stdout + proc.stderr


def test_two_process_test_equals_single_process(workspace):
    root, data, checkpoint, num_test = workspace
    assert num_test % 2 == 1, 'the split must be odd for the padding to matter'
    single_work, dist_work = str(root / 'single'), str(root / 'dist')
    single, _ = _metrics([sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
                          single_work] + _options(data, 1), single_work)
    dist, out = _metrics([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_addr', '127.0.0.1', '--master_port', str(_free_port()), 'tools/test.py',
        CONFIG, checkpoint, '--launcher', 'pytorch', '--work-dir', dist_work
    ] + _options(data, 2), dist_work)
    assert "'backend': 'gloo'" in out or "backend='gloo'" in out
    assert single['num_samples'] == dist['num_samples'] == num_test
    assert 0 < single['oIoU'] < 100  # a real score, not a degenerate all-empty prediction
    for key in ('oIoU', 'mIoU', 'Pr@0.5', 'Pr@0.7', 'Pr@0.9'):
        assert dist[key] == pytest.approx(single[key], abs=1e-6), key
    per_category = [k for k in single if '/' in k]
    assert per_category and all(dist[k] == pytest.approx(single[k], abs=1e-6)
                                for k in per_category)
