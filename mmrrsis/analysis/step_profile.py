"""Where a training step's time goes, per model component, forward and backward.

One step runs under ``torch.profiler`` with the forward of each component wrapped in a
profiler range (:data:`COMPONENTS`, by class name; heads through their ``loss``, which the
segmentor calls directly). An operator's forward time goes to the innermost range around it
(self times, so nested components do not count twice). Its backward -- the autograd node the
operator created, ``autograd::engine::evaluate_function`` with the same sequence number --
goes to the same component. The optimizer step and ``zero_grad`` are ranges of their own;
what no range covers is ``other`` (losses, glue, tensors the segmentor builds), and
gradient accumulation into ``.grad`` is ``accumulate grad``.
"""
import statistics
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function

PREFIX = 'component: '
BACKWARD_EVENT = 'autograd::engine::evaluate_function: '
STEP_PHASES = ('forward', 'backward', 'optimizer')

# class name -> label; children of a class by attribute name -> label (finer rows)
COMPONENTS = {
    'PatchEmbed': 'swin patch embed', 'SwinBlock': 'swin blocks',
    'PatchMerging': 'swin patch merging', 'BertEmbeddings': 'bert embeddings',
    'BertLayer': 'bert layers', 'BSC': 'bsc (affinities, attention)',
    'PWAM': 'pwam', 'MCILayer': 'mci (norms, residuals)', 'TBTDHead': 'tbtd head (rest)',
    'DMOLSHead': 'dmols head', 'BenchmarkBareHead': 'bare head',
}
CHILDREN = {
    'BSC': {'gate_v': 'bsc gate_v', 'gate_l_fc': 'bsc gate_l', 'gate_l_norm': 'bsc gate_l',
            'text_windows': 'bsc text windows', 'proj_l': 'bsc proj_l/proj_v',
            'proj_v': 'bsc proj_l/proj_v'},
    'MCILayer': {'vl_layer': 'mci v-l cross-attention', 'lv_attn': 'mci l-v attention',
                 'ms_attn': 'mci multi-scale attention', 'ffn': 'mci ffn'},
}
HEAD_METHODS = ('loss', 'predict')


def _range_hooks(module: nn.Module, label: str) -> list:
    """Opens a profiler range named ``label`` around the module's forward."""

    def pre(mod, args):
        ranges = mod.__dict__.setdefault('_component_ranges', [])
        ranges.append(record_function(PREFIX + label))
        ranges[-1].__enter__()

    def post(mod, args, output):
        mod.__dict__['_component_ranges'].pop().__exit__(None, None, None)

    return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]


class _MethodRange:
    """Restorable instance-level wrapper of a head method in a profiler range."""

    def __init__(self, module: nn.Module, method: str, label: str):
        self.module, self.method = module, method
        original = getattr(module, method)

        def wrapped(*args, **kwargs):
            with record_function(PREFIX + label):
                return original(*args, **kwargs)

        module.__dict__[method] = wrapped

    def remove(self) -> None:
        self.module.__dict__.pop(self.method, None)


def label_components(model: nn.Module) -> list:
    """Wraps every known component of ``model`` in a profiler range; returns the handles
    (``.remove()`` each to undo)."""
    handles = []
    for module in model.modules():
        cls = type(module).__name__
        label = COMPONENTS.get(cls)
        if label is None:
            continue
        if cls.endswith('Head'):  # the segmentor calls loss/predict, not forward
            handles += [_MethodRange(module, m, label) for m in HEAD_METHODS
                        if hasattr(module, m)]
            if cls == 'TBTDHead':
                continue
        else:
            handles += _range_hooks(module, label)
        for name, child_label in CHILDREN.get(cls, {}).items():
            child = getattr(module, name, None)
            if isinstance(child, nn.ModuleList):
                for sub in child:
                    handles += _range_hooks(sub, child_label)
            elif isinstance(child, nn.Module):
                handles += _range_hooks(child, child_label)
    return handles


def _innermost(event) -> Tuple[str, bool]:
    """(innermost component label or '', whether the event is part of the backward)."""
    label = ''
    while event is not None:
        name = event.name
        if name.startswith(BACKWARD_EVENT):
            return label, True
        if not label and name.startswith(PREFIX):
            label = name[len(PREFIX):]
        event = event.cpu_parent
    return label, False


def breakdown(events) -> Dict[str, Dict[str, float]]:
    """Seconds per component and phase from the events of one profiled training step.

    Returns:
        dict: label -> ``{'forward': s, 'backward': s}``, plus the rows ``optimizer`` (its
        time in the ``backward`` column) and ``total`` (the forward and backward phases).
    """
    table: Dict[str, Dict[str, float]] = defaultdict(lambda: dict(forward=0.0, backward=0.0))
    phases = {}
    owner = {}  # forward sequence number -> label
    for event in events:
        if event.name.startswith('step: '):
            phases[event.name[6:]] = event.cpu_time_total / 1e6
            continue
        label, backward = _innermost(event)
        if backward:
            continue
        if event.sequence_nr >= 0 and label:
            owner.setdefault(event.sequence_nr, label)
        if label:
            table[label]['forward'] += event.self_cpu_time_total / 1e6
    for event in events:
        if not event.name.startswith(BACKWARD_EVENT) or \
                (event.cpu_parent is not None and _innermost(event.cpu_parent)[1]):
            continue
        if 'AccumulateGrad' in event.name:
            label = 'accumulate grad'
        else:
            label = owner.get(event.sequence_nr, 'other')
        table[label]['backward'] += event.cpu_time_total / 1e6
    labelled = {phase: sum(row[phase] for row in table.values())
                for phase in ('forward', 'backward')}
    table['other']['forward'] += phases.get('forward', 0.0) - labelled['forward']
    table['other']['backward'] += phases.get('backward', 0.0) - labelled['backward']
    table['optimizer'] = dict(forward=0.0, backward=phases.get('optimizer', 0.0))
    table['total'] = dict(forward=phases.get('forward', 0.0),
                          backward=phases.get('backward', 0.0))
    return dict(table)


def profiled_train_step(runner) -> Tuple[Dict[str, Dict[str, float]], object]:
    """One training step of a :class:`~mmrrsis.analysis.benchmark.Runner`, broken down
    (:func:`breakdown`), and the profiler's per-operator averages."""
    model, wrapper = runner.model, runner.optim_wrapper
    handles = label_components(model)
    try:
        model.train()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with record_function('step: forward'), wrapper.optim_context(model):
                losses = model(runner.train_data['inputs'], runner.train_data['data_samples'],
                               mode='loss')
                loss, _ = model.parse_losses(losses)
            with record_function('step: backward'):
                wrapper.backward(loss)
            with record_function('step: optimizer'):
                wrapper.step()
                wrapper.zero_grad()
    finally:
        for handle in handles:
            handle.remove()
    return breakdown(prof.events()), prof.key_averages()


def median_breakdown(runs: Sequence[Dict[str, Dict[str, float]]]) -> Dict[str, Dict[str, float]]:
    """Per label and phase, the median over runs (a missing row counts as 0)."""
    labels = {label for run in runs for label in run}
    return {label: {phase: statistics.median(run.get(label, {}).get(phase, 0.0) for run in runs)
                    for phase in ('forward', 'backward')} for label in labels}


ROW_ORDER = ('swin patch embed', 'swin blocks', 'swin patch merging', 'bert embeddings',
             'bert layers', 'pwam', 'bsc (affinities, attention)', 'bsc text windows',
             'bsc proj_l/proj_v', 'bsc gate_v', 'bsc gate_l', 'mci v-l cross-attention',
             'mci l-v attention', 'mci multi-scale attention', 'mci ffn',
             'mci (norms, residuals)', 'tbtd head (rest)', 'dmols head', 'bare head', 'other',
             'accumulate grad', 'optimizer', 'total')


def format_breakdown(tables: Dict[str, Dict[str, Dict[str, float]]]) -> List[str]:
    """Markdown rows: per component, each runner's forward and backward seconds (the
    optimizer's in the backward column), and each whole step over the first runner's."""
    names = list(tables)
    labels = [label for label in ROW_ORDER if any(label in t for t in tables.values())]
    labels += sorted({label for t in tables.values() for label in t} - set(labels))
    head = '| component | ' + ' | '.join(f'{n} fwd s | {n} bwd s' for n in names) + ' |'
    lines = [head, '|---|' + '---|---|' * len(names)]
    for label in labels:
        cells = []
        for name in names:
            row = tables[name].get(label, dict(forward=0.0, backward=0.0))
            cells += [f'{row["forward"]:.3f}', f'{row["backward"]:.3f}']
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    steps = {name: sum(tables[name]['total'].values()) + tables[name]['optimizer']['backward']
             for name in names}
    lines.append(f'| **step (fwd + bwd + optimizer), × {names[0]}** | ' + ' | '.join(
        f'{steps[n]:.2f} s | {steps[n] / steps[names[0]]:.2f}×' for n in names) + ' |')
    return lines
