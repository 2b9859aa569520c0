"""What the extractors' switches cost and save: ``with_cp`` (activation checkpointing) and
``fused_attention`` (SDPA), each measured as a ratio to the same model without it.

    python tools/analysis/benchmark_checkpointing.py CONFIG [CONFIG ...] \
        [--switch with_cp|fused_attention] [--batch 2] [--size N] [--threads 2]

Offline (random weights, a local WordPiece vocab). Per config:

* time: one model with the config's optimizer wrapper and one preprocessed batch (``--batch``
  copies of a ``--size`` image and one expression, as ``benchmark.py``); the switch is flipped
  in place (``StageWiseExtractor.set_with_cp`` / ``set_fused_attention``) between the steps,
  so both variants share weights and run interleaved: ``--warmup`` untimed then ``--iters``
  timed steps each. Median wall and process CPU seconds, their ratio on / off, and the load
  average. ``with_cp`` times training steps; ``fused_attention`` training and inference.
* memory (``with_cp``, unless ``--no-memory``): each variant in a fresh subprocess, one after
  the other: build, one warm-up step, then one step measured twice over: ``torch.profiler``'s
  allocation events (``peak extra``: the most allocated during the step beyond the state
  before it, as ``benchmark.py``; ``state``: parameters, buffers, optimizer state) and the
  process's peak resident set (``resource.getrusage`` ``ru_maxrss``, build and warm-up
  included, allocator caching included).

``--attention-parts`` times instead the three attentions that ``fused_attention`` switches,
alone, eager against SDPA, forward + backward (CPU seconds, median of ``--iters`` interleaved
runs): Swin-B's window attention of each stage (window 12, shifted, at the input ``--size``),
LAVT's pixel-word attention at each stage and one BERT-base layer over 20 tokens.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # projects
import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmrrsis.analysis import EXPRESSION, Runner, make_batch, state_bytes, text_metainfo  # noqa
from mmrrsis.datasets.synthetic import build_vocab  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402
from mmrrsis.utils.offline import offline_model_cfg  # noqa: E402
from mmrrsis.utils.profiling import peak_extra_bytes, timed  # noqa: E402

SWITCHES = ('with_cp', 'fused_attention')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*')
    parser.add_argument('--switch', default='with_cp', choices=SWITCHES)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=None,
                        help='input side (default: the config\'s preprocessor size)')
    parser.add_argument('--iters', type=int, default=3, help='timed steps per variant')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps per variant')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory runs')
    parser.add_argument('--no-time', action='store_true', help='skip the timed runs')
    parser.add_argument('--rss-only', action='store_true',
                        help='memory from ru_maxrss alone, without the (slow) profiler step')
    parser.add_argument('--attention-parts', action='store_true',
                        help='time the switched attentions alone (see above)')
    parser.add_argument('--out', default=None, help='write the figures to this JSON file')
    parser.add_argument('--memory-child', choices=('off', 'on'), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_runner(path: str, args, **backbone) -> Runner:
    """The config's model (offline, ``backbone`` settings applied) on its benchmark batch."""
    cfg = Config.fromfile(path)
    model_cfg = offline_model_cfg(cfg.model)
    if 'vision' not in model_cfg.backbone:
        raise ValueError(f'{path}: the backbone {model_cfg.backbone.type} is not a '
                         'StageWiseExtractor; the switches are its arguments')
    model_cfg.backbone.update(backbone)
    vocab_dir = tempfile.mkdtemp(prefix='mmrrsis_bench_vocab_')
    model_cfg.data_preprocessor.tokenizer = build_vocab([EXPRESSION], vocab_dir, 100)
    size = args.size or (model_cfg.data_preprocessor.get('size') or (512, ))[0]
    model_cfg.data_preprocessor.size = (size, size)
    batch = make_batch(size, args.batch, text_metainfo(cfg, EXPRESSION))
    runner = Runner(osp.basename(path), model_cfg, cfg.optim_wrapper, batch, 'cpu', False)
    runner.size = size
    return runner


def set_switch(runner: Runner, switch: str, value: bool) -> None:
    getattr(runner.model.backbone, f'set_{switch}')(value)


def time_switch(runner: Runner, args) -> dict:
    """Interleaved steps with the switch off and on; medians and ratios per mode."""
    modes = ['train'] if args.switch == 'with_cp' else ['train', 'infer']
    result = {}
    for mode in modes:
        runs = {False: [], True: []}
        for _ in range(args.warmup):
            for value in runs:
                set_switch(runner, args.switch, value)
                runner.step(mode)()
        load = [os.getloadavg()[0]]
        for _ in range(args.iters):
            for value in runs:
                set_switch(runner, args.switch, value)
                runs[value].append(timed(runner.step(mode), 'cpu'))
        load.append(os.getloadavg()[0])
        figures = {}
        for value, times in runs.items():
            figures['on' if value else 'off'] = dict(
                wall=statistics.median(t[0] for t in times),
                cpu=statistics.median(t[1] for t in times), runs=[t[0] for t in times])
        figures['ratio_wall'] = figures['on']['wall'] / figures['off']['wall']
        figures['ratio_cpu'] = figures['on']['cpu'] / figures['off']['cpu']
        figures['load'] = load
        result[mode] = figures
        print(f'  {mode:5s} {args.switch} off: wall {figures["off"]["wall"]:.2f} s, CPU '
              f'{figures["off"]["cpu"]:.2f} s; on: wall {figures["on"]["wall"]:.2f} s, CPU '
              f'{figures["on"]["cpu"]:.2f} s; on/off wall {figures["ratio_wall"]:.2f}, CPU '
              f'{figures["ratio_cpu"]:.2f} (load {load[0]:.1f} -> {load[1]:.1f})', flush=True)
    return result


def memory_child(path: str, args) -> None:
    """One variant's memory, printed as a JSON line (run in a fresh process)."""
    runner = build_runner(path, args, with_cp=args.memory_child == 'on')
    runner.train_step()
    state = state_bytes(runner.model, runner.optim_wrapper)
    extra = None if args.rss_only else peak_extra_bytes(runner.train_step, 'cpu')
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print('MEMORY ' + json.dumps(dict(state=state, peak_extra=extra, maxrss=maxrss)))


def memory_switch(path: str, args) -> dict:
    result = {}
    for variant in ('off', 'on'):
        command = [sys.executable, osp.abspath(__file__), path, '--memory-child', variant,
                   '--batch', str(args.batch)]
        command += ['--size', str(args.size)] if args.size else []
        command += ['--threads', str(args.threads)] if args.threads else []
        command += ['--rss-only'] if args.rss_only else []
        proc = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith('MEMORY ')]
        if proc.returncode or not lines:
            raise RuntimeError(f'{path}: the memory run with with_cp {variant} failed:\n'
                               f'{proc.stderr[-3000:]}')
        result[variant] = json.loads(lines[-1][len('MEMORY '):])
    off, on = result['off'], result['on']
    result['ratio_maxrss'] = on['maxrss'] / off['maxrss']
    gib = 2**30
    for variant in ('off', 'on'):
        fig = result[variant]
        profiled = '' if fig['peak_extra'] is None else (
            f'peak extra {fig["peak_extra"] / gib:.2f} GiB, peak '
            f'{(fig["state"] + fig["peak_extra"]) / gib:.2f} GiB (profiler); ')
        print(f'  memory with_cp {variant:3s}: state {fig["state"] / gib:.2f} GiB, {profiled}'
              f'max RSS {fig["maxrss"] / gib:.2f} GiB', flush=True)
    ratios = f'max RSS {result["ratio_maxrss"]:.2f}'
    if off['peak_extra'] is not None:
        result['ratio_peak_extra'] = on['peak_extra'] / off['peak_extra']
        result['ratio_peak'] = (on['state'] + on['peak_extra']) / (off['state'] +
                                                                   off['peak_extra'])
        ratios += (f', peak extra {result["ratio_peak_extra"]:.2f}, peak '
                   f'{result["ratio_peak"]:.2f}')
    print(f'  memory on/off: {ratios}', flush=True)
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    MMLogger.get_instance('mmrrsis_benchmark', log_level='WARNING')
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    if args.memory_child:
        memory_child(args.configs[0], args)
        return
    if args.attention_parts:
        report = dict(batch=args.batch, size=args.size or 480, threads=torch.get_num_threads(),
                      parts=attention_parts(args))
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(report, f, indent=1)
        return
    report = dict(switch=args.switch, batch=args.batch, threads=torch.get_num_threads(),
                  torch=torch.__version__, configs={})
    for path in args.configs:
        figures = {}
        if not args.no_time:
            runner = build_runner(path, args)
            print(f'{path}: {args.batch} x {runner.size}², {torch.get_num_threads()} threads',
                  flush=True)
            figures['time'] = time_switch(runner, args)
            del runner
        if args.switch == 'with_cp' and not args.no_memory:
            print(f'{path}: memory, one fresh process per variant', flush=True)
            figures['memory'] = memory_switch(path, args)
        report['configs'][path] = figures
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
