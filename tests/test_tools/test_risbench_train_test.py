"""The tiny BTDNet and the tiny LAVT train 100 iterations on synthetic RISBench data through
tools/train.py and score through tools/test.py.

One test for both models: the four processes cost about 60 s of one CPU core (2026-12,
48 px images, batch 2), most of it start-up and the 100 steps of each model."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

from mmrrsis.datasets.synthetic import make_risbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'btdnet': osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic-risbench.py'),
    'lavt': osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic-risbench.py'),
}
ITERS = 100


def _run(args):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _options(data):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
        f'model.data_preprocessor.tokenizer={osp.join(data, "bert_vocab", "vocab.txt")}',
        'train_dataloader.batch_size=2', 'val_dataloader.batch_size=4',
        'test_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        # 48 px images scored at 48 px: half the cost of the configs' 64
        'model.data_preprocessor.size=(48,48)', 'train_dataloader.dataset.pipeline.2.scale=(48,48)',
        'val_dataloader.dataset.pipeline.1.scale=(48,48)',
        'test_dataloader.dataset.pipeline.1.scale=(48,48)',
        f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
        f'default_hooks.checkpoint.interval={ITERS}', 'default_hooks.logger.interval=50',
        'default_hooks.visualization.draw=False', 'param_scheduler.0.end=10',
        'param_scheduler.1.begin=10', f'param_scheduler.1.end={ITERS}'
    ]


def test_tiny_btdnet_and_lavt_train_100_iterations_then_test(tmp_path):
    data = str(tmp_path / 'data')
    summary = make_risbench(data, 10, seed=0, size=48)
    test_categories = {t['category'] for r in summary['images'] if r['split'] == 'test'
                       for t in r['targets']}
    for method, config in CONFIGS.items():
        work = str(tmp_path / method)
        out = _run(['tools/train.py', config, '--work-dir', work] + _options(data))
        assert 'RISBench train' in out and 'RISBench val' in out
        assert f'Iter(train) [{ITERS}/{ITERS}]' in out
        checkpoint = osp.join(work, f'iter_{ITERS}.pth')
        assert osp.isfile(checkpoint), out[-2000:]
        test_work = str(tmp_path / f'{method}_test')
        _run(['tools/test.py', config, checkpoint, '--work-dir', test_work] + _options(data))
        metrics_files = glob.glob(osp.join(test_work, '*', '*.json'))
        assert metrics_files, method
        metrics = json.load(open(metrics_files[0]))
        assert metrics['num_samples'] == summary['samples']['test']
        for key in ['oIoU', 'mIoU', 'Pr@0.5'] + [f'mIoU/{c}' for c in test_categories]:
            assert 0.0 <= metrics[key] <= 100.0, (method, key)
