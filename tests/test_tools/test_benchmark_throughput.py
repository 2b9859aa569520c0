"""tools/analysis/benchmark.py --throughput (the default with --device cuda): images/s and peak
memory of the zoo configs and the bare floor, written as JSON and Markdown; CUDA timing
checked with torch.cuda's synchronisation and memory functions mocked (no GPU needed);
--profile's per-component breakdown on a tiny BTDNet."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from mmrrsis.analysis.benchmark import throughput

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
META = """
Collections:
  - Name: LAVT
  - Name: BTDNet
Models:
  - Name: lavt_tiny
    In Collection: LAVT
    Config: configs/lavt/lavt_tiny_synthetic.py
    Zoo: true
  - Name: btdnet_tiny
    In Collection: BTDNet
    Config: configs/btdnet/btdnet_tiny_synthetic.py
    Zoo: true
"""


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_tool', osp.join(REPO, 'tools', 'analysis', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_table_on_cpu(tmp_path):
    meta = tmp_path / 'metafile.yaml'
    meta.write_text(META)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), '--throughput',
         '--metafiles', str(meta), '--out-dir', str(tmp_path), '--iters', '1', '--warmup', '0',
         '--size', '32', '--threads', '1', '--no-memory'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'benchmark_cpu.json').read_text())
    # one bare floor for the two configs (same input size, same batches), then the models
    assert [row['name'] for row in report['rows']] == ['bare', 'lavt_tiny', 'btdnet_tiny']
    for row in report['rows']:
        assert row['input_size'] == 32
        for mode in ('train', 'infer'):
            figures = row[mode]
            assert figures['images_per_s'] == pytest.approx(figures['batch'] / figures['step_s'])
    # each mode at its dataloader's batch size
    cfg = Config.fromfile(osp.join(REPO, 'configs/lavt/lavt_tiny_synthetic.py'))
    assert report['rows'][1]['train']['batch'] == cfg.train_dataloader.batch_size
    assert report['rows'][1]['infer']['batch'] == cfg.test_dataloader.batch_size
    page = (tmp_path / 'benchmark_cpu.md').read_text()
    assert '| LAVT | `lavt_tiny_synthetic.py` | 32² |' in page and 'AMP off' in page


class FakeRunner:
    device = 'cuda'
    batch_sizes = dict(train=4, infer=2)

    def __init__(self, log):
        self.log = log

    def step(self, mode):
        return lambda: self.log.append(f'step {mode}')


def test_throughput_synchronises_cuda_around_every_timed_step(monkeypatch):
    log = []
    monkeypatch.setattr(torch.cuda, 'synchronize', lambda *a: log.append('sync'))
    monkeypatch.setattr(torch.cuda, 'reset_peak_memory_stats', lambda *a: log.append('reset'))
    monkeypatch.setattr(torch.cuda, 'max_memory_allocated', lambda *a: 3 * 2**30)
    figures = throughput(FakeRunner(log), 'train', warmup=2, iters=3)
    # warm-up untimed, then the peak reset, then each timed step between synchronisations
    assert log == ['step train'] * 2 + ['sync', 'reset'] + ['sync', 'step train', 'sync'] * 3
    assert figures['batch'] == 4 and figures['max_memory_allocated'] == 3 * 2**30
    assert figures['images_per_s'] == pytest.approx(4 / figures['step_s'])


def test_device_cuda_alone_means_the_throughput_table(monkeypatch):
    tool = load_tool()
    monkeypatch.setattr(sys, 'argv', ['benchmark.py', '--device', 'cuda', '--amp',
                                      '--checkpointing'])
    args = tool.parse_args()
    assert args.throughput and args.amp and args.checkpointing
    assert (args.warmup, args.iters, args.out_dir) == (3, 10, 'work_dirs/benchmark')
    monkeypatch.setattr(sys, 'argv', ['benchmark.py', '--device', 'cpu'])
    with pytest.raises(SystemExit):
        tool.parse_args()


def test_checkpointing_switch_sets_with_cp_where_taken():
    from mmengine.config import ConfigDict

    from mmrrsis.analysis.benchmark import enable_checkpointing
    from mmrrsis.utils import register_all_modules
    register_all_modules()
    cfg = ConfigDict(backbone=dict(type='mmseg.SwinTransformer'),
                     text_encoder=dict(type='BenchmarkBareHead'))
    enable_checkpointing(cfg)
    assert cfg.backbone.with_cp is True and 'with_cp' not in cfg.text_encoder
    with pytest.raises(ValueError, match='with_cp'):
        enable_checkpointing(ConfigDict(backbone=dict(type='BenchmarkBareHead')))


def test_step_profile_breaks_a_tiny_btdnet_step_down():
    from mmrrsis.analysis import (EXPRESSION, Runner, bare_model_cfg, load_config, make_batch,
                                  text_metainfo)
    from mmrrsis.analysis.step_profile import format_breakdown, profiled_train_step
    from mmrrsis.utils import register_all_modules
    register_all_modules()
    args = SimpleNamespace(amp=False, device='cpu', size=32, cfg_options=None,
                           checkpointing=False)
    cfg, model_cfg, size = load_config(
        osp.join(REPO, 'configs/btdnet/btdnet_tiny_synthetic.py'), args)
    batch = make_batch(size, 1, text_metainfo(cfg, EXPRESSION))
    tables = {}
    for name, model in (('bare', bare_model_cfg(model_cfg)), ('btdnet', model_cfg)):
        runner = Runner(name, model, cfg.optim_wrapper, batch, 'cpu', False)
        tables[name] = profiled_train_step(runner)[0]
    btdnet = tables['btdnet']
    for label in ('swin blocks', 'bert layers', 'bsc (affinities, attention)',
                  'mci multi-scale attention', 'mci ffn', 'dmols head', 'optimizer'):
        assert sum(btdnet[label].values()) > 0, label
    assert 'bsc (affinities, attention)' not in tables['bare']
    # components plus 'other' make up each phase
    for phase in ('forward', 'backward'):
        parts = sum(row[phase] for label, row in btdnet.items()
                    if label not in ('total', 'optimizer'))
        assert parts == pytest.approx(btdnet['total'][phase], rel=1e-6)
    assert format_breakdown(tables)[-1].startswith('| **step (fwd + bwd + optimizer), × bare**')
