"""Cost of a referring model over its bare encoders: training step, inference, peak memory.

Builds, in one process and offline (random weights, a local WordPiece vocab, no downloads):

* ``bare``: the config's vision backbone and text encoder with a trivial head, a 1x1 conv
  per visual level summed at the finest scale plus a linear map of the mean text feature.
  Every Swin and BERT parameter is on the loss path, so its step is "forward + backward of
  both encoders + optimizer" -- the reference the spec's "Performance context" quotes.
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

``--profile`` also prints, for the config's model(s), the operators taking the most time in
one training step (``torch.profiler``) and the forward time of each component.

Example (Swin-B + BERT-base, 512x512, batch 1: about 10-15 s per bare step on one core of
the development machine; ~15 min for the whole run)::

    python tools/analysis/benchmark.py configs/btdnet_swinb_refsegrs.py --device cpu \
        --threads 1 --ms-attn deformable sdpa --iters 3
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
from contextlib import nullcontext
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.models.utils import resize  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

from mmrrsis.datasets.synthetic import build_vocab  # noqa: E402
from mmrrsis.datasets.transforms import KeyPhraseMasker  # noqa: E402
from mmrrsis.models.decode_heads.base_referring_head import \
    BaseReferringDecodeHead  # noqa: E402
from mmrrsis.registry import MODELS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402
from mmrrsis.utils.offline import offline_model_cfg  # noqa: E402
from mmrrsis.utils.profiling import peak_extra_bytes, timed  # noqa: E402

EXPRESSION = 'the white vehicle parked on the left of the road'


@MODELS.register_module(name='BenchmarkBareHead', force=True)
class BenchmarkBareHead(BaseReferringDecodeHead):
    """The trivial head of the ``bare`` model: per-level 1x1 convs summed, plus a text bias.

    Args:
        in_channels (list[int]): Channels of the visual levels.
        text_channels (int): Width of the text features. Defaults to 768.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, in_channels: List[int], text_channels: int = 768, **kwargs):
        super().__init__(in_channels, channels=1, input_transform='multiple_select', **kwargs)
        delattr(self, 'conv_seg')
        self.level_convs = nn.ModuleList(nn.Conv2d(c, self.out_channels, 1) for c in in_channels)
        self.text_fc = nn.Linear(text_channels, self.out_channels)

    def forward(self, inputs: List[Tensor], text_feats: Dict[str, Tensor]) -> Tensor:
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        logits = sum(resize(conv(x), size=size, mode='bilinear', align_corners=False)
                     for conv, x in zip(self.level_convs, feats))
        mask = text_feats['mask'][..., None].to(text_feats['feats'].dtype)
        text = (text_feats['feats'] * mask).sum(1) / mask.sum(1).clamp(min=1)
        return logits + self.text_fc(text)[..., None, None]


def parse_args():
    parser = argparse.ArgumentParser(description='Referring model vs bare encoders: time and '
                                     'memory of a training step and of inference')
    parser.add_argument('config', nargs='?', help='the config to measure (or use --all)')
    parser.add_argument('--all', action='store_true',
                        help='measure the model zoo: one config per method, as listed in '
                        'configs/metafile.yaml and projects/*/metafile.yaml, each against the '
                        'same bare model at its own input size; writes --out-dir/model_zoo.'
                        '{json,md}')
    parser.add_argument('--out-dir', default='docs', help='where --all writes its tables')
    parser.add_argument('--refresh', action='store_true',
                        help='with --all: re-read the metafiles into the existing tables '
                        'without measuring again')
    parser.add_argument('--metafiles', nargs='+', default=None,
                        help='--all: read these metafiles instead of the repository\'s')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--iters', type=int, default=3, help='timed steps per model and mode')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--size', type=int, default=None,
                        help='input side (default: the config\'s preprocessor size; 512 if unset)')
    parser.add_argument('--batch', type=int, default=1)
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
    args = parser.parse_args()
    if bool(args.config) == args.all:
        parser.error('give one config, or --all')
    return args



def bare_model_cfg(model_cfg) -> dict:
    """The config's encoders with :class:`BenchmarkBareHead`."""
    backbone = model_cfg.backbone
    if 'vision' in backbone and 'text' in backbone:  # StageWiseExtractor and its subclasses
        vision, text = backbone.vision, backbone.text
    elif 'text_encoder' in model_cfg:
        vision, text = backbone, model_cfg.text_encoder
    else:
        raise ValueError(f'{backbone.type}: cannot tell the vision backbone and the text '
                         'encoder apart to build the bare model')
    vision = copy.deepcopy(vision)
    channels = [vision.embed_dims * 2**i for i in range(len(vision.depths))]
    bert = text.get('bert_config') or {}
    text_channels = bert.get('hidden_size', model_cfg.decode_head.get('text_channels', 768))
    return ConfigDict(
        type='ReferringEncoderDecoder',
        data_preprocessor=copy.deepcopy(model_cfg.data_preprocessor),
        backbone=vision,
        text_encoder=copy.deepcopy(text),
        decode_head=dict(type='BenchmarkBareHead', in_channels=channels,
                         in_index=list(range(len(channels))), text_channels=text_channels,
                         num_classes=2, align_corners=False, init_cfg=None),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def make_batch(size: int, batch: int, metainfo: dict = None) -> dict:
    """``batch`` copies of a random image and ``EXPRESSION``; ``metainfo``: what the config's
    text transforms set (``get_flops.text_metainfo``), by default a lexicon key phrase."""
    gen = torch.Generator().manual_seed(0)
    if metainfo is None:
        metainfo = dict(key_phrase_spans=KeyPhraseMasker(backend='lexicon')(
            dict(expression=EXPRESSION))['key_phrase_spans'])
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen))
        mask = torch.zeros(1, size, size, dtype=torch.long)
        mask[:, size // 4:size // 2, size // 8:size // 3] = 1
        sample = SegDataSample(metainfo=dict(
            metainfo, expression=EXPRESSION, img_shape=(size, size),
            ori_shape=(size, size), pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def state_bytes(model: nn.Module, optim_wrapper) -> int:
    tensors = list(model.parameters()) + list(model.buffers())
    for state in optim_wrapper.optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    seen, total = set(), 0
    for tensor in tensors:
        key = tensor.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            total += tensor.untyped_storage().nbytes()
    return total




class Runner:
    """One model, its optimizer wrapper and its preprocessed batches."""

    def __init__(self, name: str, model_cfg: dict, optim_cfg: dict, batch: dict, device: str,
                 amp: bool):
        torch.manual_seed(0)
        self.name = name
        self.device = device
        self.amp = amp
        self.model = MODELS.build(model_cfg).to(device)
        self.model.init_weights()
        self.optim_wrapper = build_optim_wrapper(self.model, copy.deepcopy(optim_cfg))
        self.set_batch(batch)
        self.num_params = sum(p.numel() for p in self.model.parameters())

    def set_batch(self, batch: dict, size: int = None) -> None:
        """Preprocesses the batch the steps run on (``size``: new preprocessor size)."""
        if size is not None:
            self.model.data_preprocessor.size = (size, size)
        self.train_data = self.model.data_preprocessor(copy.deepcopy(batch), training=True)
        self.test_data = self.model.data_preprocessor(copy.deepcopy(batch), training=False)

    def train_step(self) -> None:
        self.model.train()
        with self.optim_wrapper.optim_context(self.model):
            losses = self.model(self.train_data['inputs'], self.train_data['data_samples'],
                                mode='loss')
        loss, _ = self.model.parse_losses(losses)
        self.optim_wrapper.update_params(loss)

    def infer_step(self) -> None:
        self.model.eval()
        # the training wrapper's autocast, as mmengine's test loop with fp16=True would do
        context = torch.autocast(self.device, dtype=self.optim_wrapper.cast_dtype) \
            if self.amp else nullcontext()
        with torch.no_grad(), context:
            self.model(self.test_data['inputs'], self.test_data['data_samples'], mode='predict')

    def step(self, mode: str) -> Callable[[], None]:
        return self.train_step if mode == 'train' else self.infer_step


def label_components(model: nn.Module) -> List:
    """Wraps the forward of the model's parts in profiler ranges named after the part."""
    names = {
        'SwinBlock': 'fwd: swin blocks', 'PatchMerging': 'fwd: swin patch merging',
        'BertLayer': 'fwd: bert layers', 'BSC': 'fwd: bsc', 'MCILayer': 'fwd: tbtd mci',
        'TBTDHead': 'fwd: tbtd head (all)', 'DMOLSHead': 'fwd: dmols head',
        'SDPAttention': None, 'MSDeformAttention': None, 'BenchmarkBareHead': 'fwd: bare head'
    }
    handles = []
    for module_name, module in model.named_modules():
        cls = type(module).__name__
        label = names.get(cls, '')
        if cls in ('SDPAttention', 'MSDeformAttention') and module_name.endswith('ms_attn'):
            label = f'fwd: tbtd mci ms_attn ({cls})'
        if not label:
            continue

        def pre(mod, args, label=label):
            mod._bench_range = record_function(label)
            mod._bench_range.__enter__()

        def post(mod, args, output):
            mod._bench_range.__exit__(None, None, None)

        handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    return handles


def print_profile(runner: Runner) -> None:
    handles = label_components(runner.model)
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            runner.train_step()
    finally:
        for handle in handles:
            handle.remove()
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages) / 1e3
    print(f'\n== {runner.name}: one training step under torch.profiler, {total:.0f} ms of CPU '
          'time (profiler overhead included)')
    print('forward time by component (CPU total, ms):')
    for event in sorted((e for e in averages if e.key.startswith('fwd: ')),
                        key=lambda e: -e.cpu_time_total):
        print(f'  {event.key:42s} {event.cpu_time_total / 1e3:9.1f}  ({event.count} calls)')
    print(averages.table(sort_by='self_cpu_time_total', row_limit=20, max_name_column_width=60))


def measure(runners: List[Runner], args) -> Dict[str, dict]:
    """Times (and sizes) every mode of every runner, interleaved, and prints the figures.

    Returns:
        dict: mode -> runner name -> ``wall`` (median s), ``min``, ``cpu`` (median s) and,
        unless ``--no-memory``, ``state`` and ``peak_extra`` (bytes).
    """
    results = {}
    for mode in args.modes:
        times: Dict[str, List[Tuple[float, float]]] = {r.name: [] for r in runners}
        for _ in range(args.warmup):
            for runner in runners:
                runner.step(mode)()
        load_before = os.getloadavg()[0]
        for _ in range(args.iters):
            for runner in runners:
                times[runner.name].append(timed(runner.step(mode), args.device))
        load_after = os.getloadavg()[0]
        wall = {name: statistics.median(t[0] for t in ts) for name, ts in times.items()}
        best = {name: min(t[0] for t in ts) for name, ts in times.items()}
        cpu = {name: statistics.median(t[1] for t in ts) for name, ts in times.items()}
        results[mode] = {name: dict(wall=wall[name], min=best[name], cpu=cpu[name])
                         for name in times}
        what = 'training step (fwd + bwd + optimizer)' if mode == 'train' else \
            'inference (predict, no grad)'
        print(f'\n{what}: {args.iters} interleaved runs per model, load average '
              f'{load_before:.2f} -> {load_after:.2f}')
        print(f'  {"model":18s} {"wall s: runs":>24s} {"median":>7s} {"x bare":>7s} '
              f'{"min":>6s} {"x bare":>7s} {"CPU s":>7s} {"x bare":>7s}')
        for runner in runners:
            name = runner.name
            runs = ' '.join(f'{t[0]:.2f}' for t in times[name])
            print(f'  {name:18s} {runs:>24s} {wall[name]:7.2f} {wall[name] / wall["bare"]:7.2f} '
                  f'{best[name]:6.2f} {best[name] / best["bare"]:7.2f} {cpu[name]:7.2f} '
                  f'{cpu[name] / cpu["bare"]:7.2f}')
        if args.no_memory:
            continue
        memory = {}
        for runner in runners:
            extra = peak_extra_bytes(runner.step(mode), args.device)
            memory[runner.name] = (state_bytes(runner.model, runner.optim_wrapper), extra)
            results[mode][runner.name].update(state=memory[runner.name][0], peak_extra=extra)
        base_state, base_extra = memory['bare']
        print(f'  {"memory":18s} {"state GiB":>10s} {"peak extra GiB":>15s} {"peak GiB":>9s} '
              f'{"x bare: extra":>14s} {"peak":>6s}')
        for runner in runners:
            state, extra = memory[runner.name]
            print(f'  {runner.name:18s} {state / 2**30:10.2f} {extra / 2**30:15.2f} '
                  f'{(state + extra) / 2**30:9.2f} {extra / base_extra:14.2f} '
                  f'{(state + extra) / (base_state + base_extra):6.2f}')
    return results


def load_config(path: str, args) -> Tuple[Config, ConfigDict, int]:
    """The config, its offline model config (local vocab, ``--amp``) and its input side."""
    cfg = Config.fromfile(path)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper' if args.device == 'cuda' else \
            'CPUAmpOptimWrapper'
        if args.device == 'cuda':
            cfg.optim_wrapper.loss_scale = 'dynamic'
        else:
            cfg.optim_wrapper.dtype = 'bfloat16'
    model_cfg = offline_model_cfg(copy.deepcopy(cfg.model))
    vocab_dir = tempfile.mkdtemp(prefix='mmrrsis_bench_vocab_')
    model_cfg.data_preprocessor.tokenizer = build_vocab([EXPRESSION], vocab_dir, 100)
    size = args.size or (model_cfg.data_preprocessor.get('size') or (512, ))[0]
    model_cfg.data_preprocessor.size = (size, size)
    return cfg, model_cfg, size


def header(args, size: int, model_cfg, runners) -> None:
    print(f'{args.batch} x {size}x{size}, '
          f'{model_cfg.data_preprocessor.get("max_length", 20)} tokens; device {args.device}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads'
          f'{", AMP " + str(runners[0].optim_wrapper.cast_dtype) if args.amp else ""}')
    for runner in runners:
        print(f'  {runner.name:18s} {runner.num_params / 1e6:7.1f} M parameters')


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
    if args.all:
        from model_zoo import refresh, run_model_zoo
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
    from get_flops import text_metainfo
    batch = make_batch(size, args.batch, text_metainfo(cfg, EXPRESSION))
    runners = [Runner(name, variant, cfg.optim_wrapper, batch, args.device, args.amp)
               for name, variant in variants.items()]
    print(f'config {args.config}; ', end='')
    header(args, size, model_cfg, runners)
    measure(runners, args)
    if args.profile:
        for runner in runners[1:]:
            print_profile(runner)


if __name__ == '__main__':
    main()
