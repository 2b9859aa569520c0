"""Resuming after SIGKILL gives the uninterrupted run's weights and data order, bit for bit.

Three CPU runs of the tiny language-gated config on a generated dataset (seed 0, deterministic,
no data workers): 6 iterations uninterrupted; the same run killed with SIGKILL once its
iteration-4 checkpoint is complete; that run resumed with ``--resume`` to iteration 6. A test
hook (written next to a wrapper config) records the images of every batch, and pauses the
killed run right after the iteration-4 checkpoint so the kill lands there without a race.
"""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from mmrrsis.datasets import ResumableInfiniteSampler
from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'language_gated',
                  'language-gated_swin-bert_tiny_synthetic.py')
MAX_ITERS, KILL_AT = 6, 4

HOOK_MODULE = '''
import os
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RecordBatchesHook(Hook):
    """Appends each batch's image paths to a file; pauses after a given iteration's hooks."""
    priority = 'LOWEST'  # after CheckpointHook, so the pause comes after the save

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        paths = [s.img_path for s in data_batch['data_samples']]
        with open(os.environ['RECORD_FILE'], 'a') as f:
            f.write(f'{runner.iter + 1} {" ".join(paths)}\\n')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == int(os.environ.get('PAUSE_AFTER_ITER', -1)):
            time.sleep(600)
'''


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('resume')
    data = str(root / 'data')
    make_refsegrs(data, num_images=10, seed=0, size=48)
    (root / 'record_batches_hook.py').write_text(HOOK_MODULE)
    wrapper = root / 'config.py'
    wrapper.write_text(f"_base_ = [{CONFIG!r}]\n"
                       "custom_imports = dict(imports=['record_batches_hook'])\n"
                       "custom_hooks = [dict(type='RecordBatchesHook')]\n")
    return root, data, str(wrapper)


def _options(data):
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
        f'model.data_preprocessor.tokenizer={vocab}', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=2', f'train_cfg.max_iters={MAX_ITERS}',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', f'param_scheduler.1.end={MAX_ITERS}',
        'randomness.seed=0', 'randomness.deterministic=True'
    ]


def _command(wrapper, work, data, resume=False):
    return ([sys.executable, 'tools/train.py', wrapper, '--work-dir', work]
            + (['--resume'] if resume else []) + _options(data))


def _env(root, record, pause_after=None):
    env = dict(os.environ, PYTHONPATH=f'{REPO}{os.pathsep}{root}', RECORD_FILE=str(record),
               OMP_NUM_THREADS='1')
    if pause_after is not None:
        env['PAUSE_AFTER_ITER'] = str(pause_after)
    return env


def _run(cmd, env):
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _run_and_kill_after_checkpoint(cmd, env, work, kill_at, timeout=300):
    """Starts a run, waits until 'last_checkpoint' names iter_<kill_at>.pth, then SIGKILLs it."""
    marker = osp.join(work, 'last_checkpoint')
    wanted = f'iter_{kill_at}.pth'
    log = open(osp.join(osp.dirname(work), 'killed_run.log'), 'w')
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            # CheckpointHook writes last_checkpoint only after the checkpoint file is complete.
            if osp.isfile(marker) and open(marker).read().strip().endswith(wanted):
                break
            assert proc.poll() is None, f'the run ended before {wanted} was saved, see {log.name}'
            time.sleep(0.05)
        else:
            pytest.fail(f'no {wanted} within {timeout}s, see {log.name}')
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL


def _batches(record):
    with open(record) as f:
        return [line.split() for line in f]


def test_resume_after_sigkill_is_bit_exact(setup):
    root, data, wrapper = setup
    full_work, killed_work = str(root / 'full'), str(root / 'killed')
    full_record, killed_record = root / 'full.txt', root / 'killed.txt'

    _run(_command(wrapper, full_work, data), _env(root, full_record))
    _run_and_kill_after_checkpoint(_command(wrapper, killed_work, data),
                                   _env(root, killed_record, pause_after=KILL_AT),
                                   killed_work, KILL_AT)
    assert not osp.exists(osp.join(killed_work, f'iter_{KILL_AT + 2}.pth'))
    out = _run(_command(wrapper, killed_work, data, resume=True), _env(root, killed_record))
    assert f'resumed epoch: 0, iter: {KILL_AT}' in out
    assert f'resumed the sampler after {KILL_AT} iterations' in out  # skipped, not reloaded

    full_batches, killed_batches = _batches(full_record), _batches(killed_record)
    assert [b[0] for b in full_batches] == [str(i) for i in range(1, MAX_ITERS + 1)]
    assert killed_batches == full_batches  # iterations 1-4 before the kill, 5-6 after resume

    full = torch.load(osp.join(full_work, f'iter_{MAX_ITERS}.pth'), weights_only=True)
    resumed = torch.load(osp.join(killed_work, f'iter_{MAX_ITERS}.pth'), weights_only=True)
    assert full['meta']['iter'] == resumed['meta']['iter'] == MAX_ITERS
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    differing = [k for k, v in full['state_dict'].items()
                 if not torch.equal(v, resumed['state_dict'][k])]
    assert not differing, f'{len(differing)} tensors differ, e.g. {differing[:3]}'
    before = torch.load(osp.join(killed_work, f'iter_{KILL_AT}.pth'), weights_only=True)
    assert any(not torch.equal(v, full['state_dict'][k])
               for k, v in before['state_dict'].items()), 'iterations 5-6 must change weights'


def test_sampler_resume_continues_the_same_stream():
    dataset = list(range(7))
    full = iter(ResumableInfiniteSampler(dataset, shuffle=True, seed=3))
    stream = [next(full) for _ in range(30)]
    assert sorted(stream[:7]) == dataset and stream[:7] != dataset  # one shuffled pass
    resumed = ResumableInfiniteSampler(dataset, shuffle=True, seed=99)
    resumed.resume(11, seed=3)
    it = iter(resumed)
    assert [next(it) for _ in range(19)] == stream[11:]
    with pytest.raises(ValueError, match='num_consumed'):
        resumed.resume(-1)


def test_train_loops_match_their_samplers():
    """Epoch loops need a finite sampler (else epoch 1 never ends); iteration loops resume."""
    paths = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
             if '_base_' not in p]
    assert paths
    for path in paths:
        cfg = Config.fromfile(path)
        loop, sampler = cfg.train_cfg.get('type'), cfg.train_dataloader.sampler.type
        if loop == 'EpochBasedTrainLoop':
            assert 'Infinite' not in sampler, path
        else:
            assert (loop, sampler) == ('ResumableIterBasedTrainLoop',
                                       'ResumableInfiniteSampler'), path
