"""The model zoo table: `python tools/analysis/benchmark.py --all` (this module does the work).

Reads the metafiles (``configs/metafile.yaml``, ``projects/*/metafile.yaml``, mmseg's format
plus a few mmrrsis fields), takes the model of every collection marked ``Zoo: true`` and, in
one process, measures it against one bare Swin-B + BERT-base model (``benchmark.py``'s
``bare``, re-fed at each config's input size): the median wall time of a training step and of
an inference, interleaved with the bare model's, and their ratios. Parameters and GFLOPs come
from ``get_flops.py``. The published results, the protocol they were scored under, the
converter and whether the implementation is checked against a public reference come from the
metafile. Writes ``model_zoo.json`` (every figure) and ``model_zoo.md`` (the page) to
``--out-dir``.
"""
import gc
import glob
import json
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List

import torch
import yaml

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from benchmark import (EXPRESSION, Runner, bare_model_cfg, header, load_config,  # noqa: E402
                       make_batch, measure)
from get_flops import analyse, text_metainfo  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = ('RefSegRS', 'RRSIS-D')


def metafiles(root: str = REPO) -> List[str]:
    """``configs/metafile.yaml`` and every ``projects/*/metafile.yaml``, in that order."""
    files = [osp.join(root, 'configs', 'metafile.yaml')]
    files += sorted(glob.glob(osp.join(root, 'projects', '*', 'metafile.yaml')))
    return [f for f in files if osp.isfile(f)]


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
    the measured figures (for a metafile change that needs no new measurement)."""
    path = osp.join(args.out_dir, 'model_zoo.json')
    with open(path) as f:
        report = json.load(f)
    entries = {m['Name']: m for m in zoo_models(args.metafiles or metafiles())}
    for row in report['models']:
        entry = entries[row['name']]
        row.update(results=entry.get('Results', []), metadata=entry.get('Metadata', {}))
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
        flops = analyse(cfg, (size, size))
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
            return f'{metrics["mIoU"]:.2f} / {metrics["oIoU"]:.2f}'
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
        '| RefSegRS test mIoU / oIoU | RRSIS-D test mIoU / oIoU | protocol of the published '
        'numbers | converter for released weights | implementation |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
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
