"""Cost of a referring model over its bare encoders: training step, inference, peak memory.

Builds, in one process and offline (random weights, a local WordPiece vocab, no downloads):

* ``bare``: the config's vision backbone and text encoder with a trivial head, a 1x1 conv
  per visual level summed at the finest scale plus a linear map of the mean text feature.
  Every Swin and BERT parameter is on the loss path, so its step is "forward + backward of
  both encoders + optimizer", the reference the other rows are compared with.
  For BTDNet's ``BidirectionalExtractor`` the encoders are its ``vision`` and ``text``
  dicts; for a config with a plain backbone, ``backbone`` and ``text_encoder``.
* the config's model, once per ``--ms-attn`` value when given (T-BTD's MCI attention).

Each model gets the config's optimizer wrapper (AdamW with the paper's lr groups; with
``--amp`` mmengine's ``AmpOptimWrapper`` on CUDA, ``CPUAmpOptimWrapper`` -- bfloat16 autocast --
on a CPU). The same preprocessed batch (``--batch`` copies of a ``--size`` image and one
expression, tokenized once) is fed to every model. One training step is what
``model.train_step`` does after the data preprocessor: forward with losses, backward,
optimizer step, gradients set to None. Inference is ``mode='predict'`` in eval mode without
gradients (D-MOLS skipped, logits resized and arg-maxed).

Timing: the models run interleaved, ``--warmup`` untimed then ``--iters`` timed steps each,
so slow-downs from other jobs on a shared machine hit all models alike. Per model the wall
times of the runs, their median and minimum, and the median process CPU time (user + system,
all threads) are printed, each with its ratio to ``bare``, and the load average. On a
machine shared with other jobs, ``--threads 1`` gives the steadiest figures: the CPU time of
a single-threaded run hardly depends on the other jobs, while several threads of one step
wait on each other whenever one of them is preempted.

Memory, per model and mode, consistent with ``benchmark_bsc.py``:

* ``state``: parameters, buffers and optimizer state (allocated before a step; gradients
  are None between steps);
* ``peak extra``: the largest amount allocated during one step beyond ``state`` (activations,
  workspaces, gradients). On CPU the running sum of ``torch.profiler`` memory events
  (``profile_memory=True``, every c10 CPU allocation and free in time order); on CUDA
  ``max_memory_allocated`` after ``reset_peak_memory_stats`` minus the allocation before;
* ``peak`` = state + peak extra.

``--profile`` also prints where the time of a training step goes, for every model side by
side: per component (Swin blocks, BERT layers, BSC and its gates, MCI's steps, the heads,
the optimizer) the forward and backward time, medians of ``--iters`` interleaved profiled
steps (:mod:`mmrrsis.analysis.step_profile`), and each model's most expensive operators.

``--all`` writes the model-zoo table instead. It reads the metafiles that ``model-index.yml``
imports (``configs/<method>/metafile.yaml``, ``projects/*/metafile.yaml``, mmseg's format plus
a few mmrrsis fields), takes the model of every collection marked ``Zoo: true`` and, in one process,
measures it against one bare Swin-B + BERT-base model (re-fed at each config's input size):
the median wall time of a training step and of an inference, interleaved with the bare
model's, and their ratios. Parameters and GFLOPs come from :func:`mmrrsis.analysis.analyse`
(as ``get_flops.py`` prints them). The published results, the protocol they were scored
under, the converter and whether the implementation is checked against a public reference
come from the metafile. Writes ``model_zoo.json`` (every figure) and ``model_zoo.md`` (the
page) to ``--out-dir``; ``--refresh`` re-reads the metafiles into them without measuring (a
model new to the zoo gets its parameters and FLOPs, and "n/a" for the times).

``--throughput`` (what ``--device cuda`` alone runs) measures, one model alive at a time,
every zoo config and the bare floor (the zoo configs' encoders with the trivial head) at the
config's input size, training at its train dataloader's batch size and inference at its test
dataloader's: ``--warmup`` untimed steps (3 on CUDA), then ``--iters`` steps (10 on CUDA), each
between ``torch.cuda.synchronize()`` calls; images/s = batch / median step time, and the peak
``torch.cuda.max_memory_allocated`` over the timed steps (parameters, gradients, optimizer state
and activations). ``--amp`` uses ``AmpOptimWrapper`` (float16, dynamic loss scale) and
``--checkpointing`` sets ``with_cp=True`` on the backbone (as
``--cfg-options model.backbone.with_cp=True`` would). Writes
``--out-dir/benchmark_<device>[_amp][_cp].{json,md}`` (default ``work_dirs/benchmark``)::

    python tools/analysis/benchmark.py --device cuda [--amp] [--checkpointing]

Example (Swin-B + BERT-base, 512x512, batch 1: about 10-15 s per bare step on one core of
the development machine; ~15 min for the whole run)::

    python tools/analysis/benchmark.py configs/btdnet/btdnet_swinb_refsegrs.py --device cpu \
        --threads 1 --ms-attn deformable sdpa --iters 3
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
import yaml  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmrrsis.analysis import (EXPRESSION, Runner, analyse, bare_model_cfg, header,  # noqa: E402
                              load_config, make_batch, measure, text_metainfo, throughput)
from mmrrsis.analysis.step_profile import (format_breakdown, median_breakdown,  # noqa: E402
                                           profiled_train_step)
from mmrrsis.utils import register_all_modules  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description='Referring model vs bare encoders: time and '
                                     'memory of a training step and of inference')
    parser.add_argument('config', nargs='?', help='the config to measure (or use --all)')
    parser.add_argument('--all', action='store_true',
                        help='measure the model zoo: one config per method, as listed in '
                        'the metafiles of model-index.yml, each against the '
                        'same bare model at its own input size; writes --out-dir/model_zoo.'
                        '{json,md}')
    parser.add_argument('--out-dir', default=None,
                        help='where --all (default docs) and --throughput (default '
                        'work_dirs/benchmark) write their tables')
    parser.add_argument('--refresh', action='store_true',
                        help='with --all: re-read the metafiles into the existing tables '
                        'without measuring again')
    parser.add_argument('--flops-dtype', default='float32', choices=['float32', 'bfloat16'],
                        help='--all: dtype the model is built and traced in to count its FLOPs '
                        '(the same counts; bfloat16 halves the memory, as get_flops.py --dtype)')
    parser.add_argument('--metafiles', nargs='+', default=None,
                        help='--all: read these metafiles instead of the repository\'s')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--iters', type=int, default=None,
                        help='timed steps per model and mode (default 3; 10 for --throughput '
                        'on CUDA)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed steps first (default 1; 3 for --throughput on CUDA)')
    parser.add_argument('--size', type=int, default=None,
                        help='input side (default: the config\'s preprocessor size; 512 if unset)')
    parser.add_argument('--batch', type=int, default=None,
                        help='batch size (default 1; --throughput: the config\'s train and '
                        'test dataloader batch sizes)')
    parser.add_argument('--ms-attn', nargs='+', choices=['sdpa', 'deformable'],
                        help='measure the config\'s model once per T-BTD ms_attn value '
                        '(default: as configured)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision as tools/train.py --amp (bfloat16 on CPU)')
    parser.add_argument('--modes', nargs='+', default=['train', 'infer'],
                        choices=['train', 'infer'])
    parser.add_argument('--no-memory', action='store_true', help='skip the memory runs')
    parser.add_argument('--profile', action='store_true',
                        help='print where the time of a training step goes')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--throughput', action='store_true',
                        help='images/s of training and inference and peak memory of every zoo '
                        'config and the bare floor, each at its input size and dataloader '
                        'batch; writes --out-dir/benchmark_<device>[_amp][_cp].{json,md}. The '
                        'default with --device cuda and neither a config nor --all')
    parser.add_argument('--checkpointing', action='store_true',
                        help='activation checkpointing: with_cp=True on the backbone (and a '
                        'text encoder that takes it), the config switch of tools/train.py '
                        '--cfg-options model.backbone.with_cp=True')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every measured config')
    args = parser.parse_args()
    if not args.config and not args.all and args.device == 'cuda':
        args.throughput = True
    if sum((bool(args.config), args.all, args.throughput)) != 1:
        parser.error('give one config, or --all, or --throughput')
    if args.out_dir is None:
        args.out_dir = 'work_dirs/benchmark' if args.throughput else 'docs'
    gpu_table = args.throughput and args.device == 'cuda'
    args.iters = args.iters or (10 if gpu_table else 3)
    args.warmup = (3 if gpu_table else 1) if args.warmup is None else args.warmup
    return args


def print_profile(runners: List[Runner], iters: int) -> None:
    """Per component, the forward and backward time of a training step of every runner
    (:mod:`mmrrsis.analysis.step_profile`), medians of ``iters`` interleaved profiled steps;
    then the operators taking the most time in the last step of each model."""
    runs = {runner.name: [] for runner in runners}
    ops = {}
    for _ in range(iters):
        for runner in runners:
            table, ops[runner.name] = profiled_train_step(runner)
            runs[runner.name].append(table)
    tables = {name: median_breakdown(tables) for name, tables in runs.items()}
    print(f'\n== one training step under torch.profiler, per component: medians of {iters} '
          'interleaved runs, thread CPU time in s (profiler overhead included)')
    print('\n'.join(format_breakdown(tables)))
    for runner in runners[1:]:
        print(f'\n== {runner.name}: operators of one profiled training step')
        print(ops[runner.name].table(sort_by='self_cpu_time_total', row_limit=20,
                                     max_name_column_width=60))


def metafiles(root: str = REPO) -> List[str]:
    """The metafiles that ``model-index.yml`` imports (mmseg's model index), in its order: the
    rows of the model-zoo page."""
    with open(osp.join(root, 'model-index.yml')) as f:
        files = [osp.join(root, path) for path in yaml.safe_load(f)['Import']]
    missing = [f for f in files if not osp.isfile(f)]
    if missing:
        raise FileNotFoundError(f'model-index.yml imports {missing}, which do not exist')
    return files


def zoo_models(files: List[str]) -> List[dict]:
    """The ``Zoo: true`` model entries of the metafiles, with their collection merged in."""
    models = []
    for path in files:
        with open(path) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name']: c for c in meta.get('Collections', [])}
        for model in meta.get('Models', []):
            if not model.get('Zoo'):
                continue
            name = model.get('In Collection')
            if name not in collections:
                raise ValueError(f'{path}: model {model.get("Name")} is in collection '
                                 f'{name!r}, which the file does not define')
            config = osp.join(REPO, model['Config'])
            if not osp.isfile(config):
                raise FileNotFoundError(f'{path}: model {model["Name"]} names config '
                                        f'{model["Config"]}, which does not exist')
            models.append(dict(model, collection=collections[name], metafile=path))
    # a row shows every published result of its method, from all the method's configs
    for model in models:
        results = []
        for other in meta_models(files):
            if other.get('In Collection') == model['collection']['Name']:
                results += [r for r in other.get('Results', [])
                            if r['Dataset'] not in {x['Dataset'] for x in results}]
        model['Results'] = results
    return models


def meta_models(files: List[str]) -> List[dict]:
    """Every model entry of the metafiles."""
    models = []
    for path in files:
        with open(path) as f:
            models += yaml.safe_load(f).get('Models', [])
    return models


def refresh(args) -> dict:
    """Re-reads the metafiles into ``--out-dir/model_zoo.json`` and rewrites the page, keeping
    the measured figures (for a metafile change that needs no new measurement). A zoo model
    the table does not hold gets a row with its parameters and FLOPs and no timing; rows of
    models no longer in the zoo are dropped."""
    path = osp.join(args.out_dir, 'model_zoo.json')
    with open(path) as f:
        report = json.load(f)
    models = zoo_models(args.metafiles or metafiles())
    rows = {row['name']: row for row in report['models']}
    report['models'] = []
    for entry in models:
        row = rows.get(entry['Name'])
        if row is None:
            # a model new to the zoo: its parameters and FLOPs, no timing (n/a on the page)
            cfg, _, size = load_config(osp.join(REPO, entry['Config']), args)
            flops = analyse(cfg, (size, size), dtype=getattr(torch, args.flops_dtype))
            row = dict(method=entry['collection']['Name'], name=entry['Name'],
                       input_size=size, params=flops['params'], flops=flops['flops'],
                       timing={}, paper=entry['collection'].get('Paper', {}))
            report.setdefault('added', []).append(entry['Name'])
            report['refresh_command'] = 'python tools/analysis/benchmark.py ' + ' '.join(
                sys.argv[1:])
        row.update(config=entry['Config'], results=entry.get('Results', []),
                   metadata=entry.get('Metadata', {}))
        report['models'].append(row)
    with open(path, 'w') as f:
        json.dump(report, f, indent=1)
    with open(osp.join(args.out_dir, 'model_zoo.md'), 'w') as f:
        f.write(markdown(report))
    return report


def run_model_zoo(args) -> Dict[str, dict]:
    """Measures every zoo model (see the module docstring) and writes the tables."""
    models = zoo_models(args.metafiles or metafiles())
    if not models:
        raise SystemExit('no model is marked `Zoo: true` in the metafiles')
    bare = None
    rows = []
    for entry in models:
        cfg, model_cfg, size = load_config(osp.join(REPO, entry['Config']), args)
        batch = make_batch(size, args.batch, text_metainfo(cfg, EXPRESSION))
        if bare is None:
            bare = Runner('bare', bare_model_cfg(model_cfg), cfg.optim_wrapper, batch,
                          args.device, args.amp)
        else:
            bare.set_batch(batch, size)
        print(f'\n==== {entry["collection"]["Name"]}: {entry["Config"]}; ', end='')
        runner = Runner(entry['Name'], model_cfg, cfg.optim_wrapper, batch, args.device,
                        args.amp)
        header(args, size, model_cfg, [bare, runner])
        figures = measure([bare, runner], args)
        flops = analyse(cfg, (size, size), dtype=getattr(torch, args.flops_dtype))
        rows.append(dict(
            method=entry['collection']['Name'], name=entry['Name'], config=entry['Config'],
            input_size=size, params=flops['params'], flops=flops['flops'],
            timing=figures, results=entry.get('Results', []),
            metadata=entry.get('Metadata', {}), paper=entry['collection'].get('Paper', {})))
        del runner
        gc.collect()
    machine = (f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
               f'torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}')
    report = dict(
        command='python tools/analysis/benchmark.py --all ' + ' '.join(sys.argv[2:]),
        date=time.strftime('%Y-%m-%d'), machine=machine, batch=args.batch,
        iters=args.iters, warmup=args.warmup, models=rows)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'model_zoo.json'), 'w') as f:
        json.dump(report, f, indent=1)
    with open(osp.join(args.out_dir, 'model_zoo.md'), 'w') as f:
        f.write(markdown(report))
    print(f'\nwrote {args.out_dir}/model_zoo.json and model_zoo.md')
    return report


def _ratio(timing: dict, mode: str, name: str) -> str:
    if mode not in timing:
        return 'n/a'
    return f'{timing[mode][name]["wall"] / timing[mode]["bare"]["wall"]:.2f}×'


def _result(results: List[dict], dataset: str) -> str:
    for item in results:
        if item.get('Dataset') == dataset:
            metrics = item['Metrics']
            oiou = metrics.get('oIoU')
            return f'{metrics["mIoU"]:.2f} / ' + ('—' if oiou is None else f'{oiou:.2f}')
    return '—'


def _protocol(results: List[dict]) -> str:
    seen = []
    for item in results:
        text = f'{item["Dataset"]}: {item.get("Protocol", "not stated")}'
        if text not in seen:
            seen.append(text)
    return '<br>'.join(seen) or '—'


def markdown(report: dict) -> str:
    """The model-zoo page for a :func:`run_model_zoo` report."""
    lines = [
        '# Model zoo',
        '',
        'One row per method, its RRSIS-D config (the architecture of the RefSegRS config, '
        'except where noted). Parameters and GFLOPs (multiply-adds, batch 1, at the '
        'config\'s input size, text side included) from `tools/analysis/get_flops.py`; '
        'training-step and inference times are medians of interleaved runs against the bare '
        'Swin-B + BERT-base model of `tools/analysis/benchmark.py` (its encoders with a '
        'trivial head), measured in one run on the machine below. Published results are the '
        'papers\' test-split mIoU / oIoU under the protocol given, not results of mmrrsis '
        'runs: no GPU was available to train these configs here.',
        '',
        f'Generated by `{report["command"]}` on {report["date"]} ({report["machine"]}; '
        f'batch {report["batch"]}, {report["warmup"]} warm-up + {report["iters"]} timed runs '
        'per mode). Do not edit by hand: re-run the command.',
        '',
        '| method | config | params (M) | GFLOPs @ input | train step × bare | inference × bare '
        '| RefSegRS test mIoU / oIoU | RRSIS-D test mIoU / oIoU | RISBench test mIoU / oIoU '
        '| protocol of the published numbers | converter for released weights '
        '| implementation |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    if report.get('added'):
        lines[-2:-2] = [f'Added by `{report["refresh_command"]}`: '
                        f'{", ".join(report["added"])} (parameters and GFLOPs; not timed).', '']
    for row in report['models']:
        meta = row['metadata']
        converter = meta.get('Converter')
        converter = f'`{converter}`' if converter else 'none'
        lines.append(
            f'| {row["method"]} | [`{osp.basename(row["config"])}`](../{row["config"]}) '
            f'| {row["params"]["total"] / 1e6:.2f} '
            f'| {row["flops"]["total"] / 1e9:.1f} @ {row["input_size"]}² '
            f'| {_ratio(row["timing"], "train", row["name"])} '
            f'| {_ratio(row["timing"], "infer", row["name"])} '
            f'| {_result(row["results"], "RefSegRS")} | {_result(row["results"], "RRSIS-D")} '
            f'| {_result(row["results"], "RISBench")} '
            f'| {_protocol(row["results"])} | {converter} '
            f'| {meta.get("Implementation", "—")} |')
    timed = [row for row in report['models'] if {'train', 'infer'} <= set(row['timing'])]
    if timed:
        lines += ['', 'Median wall times (s), model (bare): ' + '; '.join(
            f'{row["method"]} train {row["timing"]["train"][row["name"]]["wall"]:.1f} '
            f'({row["timing"]["train"]["bare"]["wall"]:.1f}), inference '
            f'{row["timing"]["infer"][row["name"]]["wall"]:.1f} '
            f'({row["timing"]["infer"]["bare"]["wall"]:.1f})' for row in timed) + '.']
    lines.append('')
    lines += ['Per-component parameters (M) / GFLOPs:', '',
              '| method | vision | text | fusion | neck | heads |', '|---|---|---|---|---|---|']
    for row in report['models']:
        cells = ' | '.join(f'{row["params"][k] / 1e6:.2f} / {row["flops"][k] / 1e9:.1f}'
                           for k in ('vision', 'text', 'fusion', 'neck', 'heads'))
        lines.append(f'| {row["method"]} | {cells} |')
    lines += ['', 'Sources of the published numbers:', '']
    for row in report['models']:
        for item in row['results']:
            lines.append(f'- {row["method"]}, {item["Dataset"]}: {item.get("Source", "—")}')
    lines.append('')
    return '\n'.join(lines)


def machine_name(device: str) -> str:
    if device == 'cuda':
        props = torch.cuda.get_device_properties(0)
        return (f'{props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, '
                f'CUDA {torch.version.cuda}')
    return (f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
            f'torch {torch.__version__}, {torch.get_num_threads()} threads')


def run_throughput(args) -> dict:
    """Images/s and peak memory of every zoo model and of the bare floor (the zoo configs'
    encoders with a trivial head), each at its config's input size and dataloader batch
    sizes; one model alive at a time, so that the CUDA peak is that model's alone."""
    models = zoo_models(args.metafiles or metafiles())
    if not models:
        raise SystemExit('no model is marked `Zoo: true` in the metafiles')
    rows, floors = [], {}
    started = time.perf_counter()
    for entry in models:
        cfg, model_cfg, size = load_config(osp.join(REPO, entry['Config']), args)
        batches = dict(train=args.batch or cfg.train_dataloader.batch_size,
                       infer=args.batch or cfg.test_dataloader.batch_size)
        metainfo = text_metainfo(cfg, EXPRESSION)
        for name, cfg_model in (('bare', bare_model_cfg(model_cfg)), (entry['Name'], model_cfg)):
            key = (size, batches['train'], batches['infer'])
            if name == 'bare' and key in floors:
                continue
            runner = Runner(name, cfg_model, cfg.optim_wrapper,
                            make_batch(size, batches['train'], metainfo), args.device, args.amp,
                            test_batch=make_batch(size, batches['infer'], metainfo))
            row = dict(method='bare' if name == 'bare' else entry['collection']['Name'],
                       name=name, config=entry['Config'], input_size=size,
                       params=runner.num_params)
            for mode in args.modes:
                row[mode] = throughput(runner, mode, args.warmup, args.iters,
                                       memory=not args.no_memory)
            del runner
            gc.collect()
            if args.device == 'cuda':
                torch.cuda.empty_cache()
            if name == 'bare':
                floors[key] = row
            else:
                row['floor'] = floors[key]
            rows.append(row)
            print(throughput_line(row, args.modes), flush=True)
    suffix = args.device + ('_amp' if args.amp else '') + ('_cp' if args.checkpointing else '')
    report = dict(
        command='python tools/analysis/benchmark.py ' + ' '.join(sys.argv[1:]),
        date=time.strftime('%Y-%m-%d'), machine=machine_name(args.device), device=args.device,
        amp=args.amp, checkpointing=args.checkpointing, warmup=args.warmup, iters=args.iters,
        seconds=time.perf_counter() - started, rows=rows)
    os.makedirs(args.out_dir, exist_ok=True)
    base = osp.join(args.out_dir, f'benchmark_{suffix}')
    with open(base + '.json', 'w') as f:
        json.dump(report, f, indent=1)
    with open(base + '.md', 'w') as f:
        f.write(throughput_markdown(report))
    print(f'\nwrote {base}.json and {base}.md ({report["seconds"]:.0f} s)')
    return report


def _gib(value) -> str:
    return '—' if value is None else f'{value / 2**30:.2f}'


def throughput_line(row: dict, modes: List[str]) -> str:
    cells = [f'{row["name"]} @ {row["input_size"]}²']
    for mode in modes:
        figures = row[mode]
        cells.append(f'{mode} batch {figures["batch"]}: {figures["images_per_s"]:.2f} images/s, '
                     f'peak {_gib(figures["max_memory_allocated"])} GiB')
    return '; '.join(cells)


def throughput_markdown(report: dict) -> str:
    """The page of a :func:`run_throughput` report."""
    memory = 'torch.cuda.max_memory_allocated' if report['device'] == 'cuda' else \
        'parameters, buffers and optimizer state plus the profiler\'s peak of one step'
    lines = [
        '# Throughput and memory',
        '',
        f'`{report["command"]}` on {report["date"]} ({report["machine"]}; AMP '
        f'{"on" if report["amp"] else "off"}, activation checkpointing '
        f'{"on" if report["checkpointing"] else "off"}; {report["warmup"]} warm-up steps '
        f'excluded, medians of {report["iters"]} timed steps, '
        f'{"synchronised before and after each, " if report["device"] == "cuda" else ""}'
        f'{report["seconds"]:.0f} s in all). Random weights; "bare" is the Swin-B + BERT-base '
        'floor (the encoders with a trivial head). Peak memory (GiB): ' + memory + '.',
        '',
        '| model | config | input | params (M) | train batch | train images/s | × bare '
        '| train peak GiB | inference batch | inference images/s | × bare | inference peak GiB |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in report['rows']:
        cells = [row['method'], f'`{osp.basename(row["config"])}`' if row['name'] != 'bare'
                 else '—', f'{row["input_size"]}²', f'{row["params"] / 1e6:.1f}']
        for mode in ('train', 'infer'):
            if mode not in row:
                cells += ['—'] * 4
                continue
            figures = row[mode]
            floor = row.get('floor', row)[mode]['images_per_s']
            cells += [str(figures['batch']), f'{figures["images_per_s"]:.2f}',
                      f'{figures["images_per_s"] / floor:.2f}',
                      _gib(figures['max_memory_allocated'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append('')
    return '\n'.join(lines)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is visible')
    register_all_modules()
    # quiet: no per-parameter init and lr-group reports
    MMLogger.get_instance('mmrrsis_benchmark', log_level='WARNING')
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    if args.throughput:
        run_throughput(args)
        return
    args.batch = args.batch or 1
    if args.all:
        refresh(args) if args.refresh else run_model_zoo(args)
        return
    cfg, model_cfg, size = load_config(args.config, args)

    variants = {'bare': bare_model_cfg(model_cfg)}
    if args.ms_attn:
        for ms_attn in args.ms_attn:
            variant = copy.deepcopy(model_cfg)
            variant.decode_head.ms_attn = ms_attn
            variants[f'model[{ms_attn}]'] = variant
    else:
        variants[f'model[{model_cfg.decode_head.get("ms_attn", "default")}]'] = model_cfg
    batch = make_batch(size, args.batch, text_metainfo(cfg, EXPRESSION))
    runners = [Runner(name, variant, cfg.optim_wrapper, batch, args.device, args.amp)
               for name, variant in variants.items()]
    print(f'config {args.config}; ', end='')
    header(args, size, model_cfg, runners)
    measure(runners, args)
    if args.profile:
        print_profile(runners, args.iters)


if __name__ == '__main__':
    main()
