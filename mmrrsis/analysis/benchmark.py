"""Cost of referring models against their bare encoders: the shared parts of
``tools/analysis/benchmark.py``, ``compare_models.py`` and the model-zoo table.

A :class:`Runner` holds one model built offline from a config (random weights, a local
WordPiece vocab), its optimizer wrapper and one preprocessed batch; :func:`measure` times
(and sizes) every runner's training step and inference, interleaved, and prints the figures
with their ratios to the runner named ``bare``: :func:`bare_model_cfg`, the config's vision
backbone and text encoder with the trivial :class:`BenchmarkBareHead`. The tool's docstring
defines the figures.
"""
import copy
import inspect
import os
import statistics
import tempfile
from contextlib import nullcontext
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.models.decode_heads import BaseReferringDecodeHead
from mmrrsis.registry import MODELS
from mmrrsis.utils.offline import offline_model_cfg
from mmrrsis.utils.profiling import peak_extra_bytes, timed

from .flops import EXPRESSION


@MODELS.register_module()
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
    text transforms set (:func:`~mmrrsis.analysis.flops.text_metainfo`), by default a lexicon
    key phrase."""
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
                 amp: bool, test_batch: dict = None):
        torch.manual_seed(0)
        self.name = name
        self.device = device
        self.amp = amp
        self.model = MODELS.build(model_cfg).to(device)
        self.model.init_weights()
        self.optim_wrapper = build_optim_wrapper(self.model, copy.deepcopy(optim_cfg))
        self.set_batch(batch, test_batch=test_batch)
        self.num_params = sum(p.numel() for p in self.model.parameters())

    def set_batch(self, batch: dict, size: int = None, test_batch: dict = None) -> None:
        """Preprocesses the batches the steps run on: ``batch`` for training and, unless
        ``test_batch`` is given, inference (``size``: new preprocessor size)."""
        if size is not None:
            self.model.data_preprocessor.size = (size, size)
        test_batch = batch if test_batch is None else test_batch
        self.train_data = self.model.data_preprocessor(copy.deepcopy(batch), training=True)
        self.test_data = self.model.data_preprocessor(copy.deepcopy(test_batch), training=False)
        self.batch_sizes = dict(train=len(batch['inputs']), infer=len(test_batch['inputs']))

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


def throughput(runner: Runner, mode: str, warmup: int, iters: int,
               memory: bool = True) -> Dict[str, float]:
    """Images per second of one mode of a runner, and its peak memory.

    ``warmup`` untimed steps, then ``iters`` steps, each timed on its own between CUDA
    synchronisations (:func:`~mmrrsis.utils.profiling.timed`). On CUDA the peak is
    ``torch.cuda.max_memory_allocated`` over the timed steps (reset after the warm-up, so it
    includes parameters, gradients and optimizer state as well as activations); on a CPU,
    with ``memory``, the state plus the peak extra of one further step (the profiler's
    allocation events, :func:`~mmrrsis.utils.profiling.peak_extra_bytes`).

    Returns:
        dict: ``batch``, ``step_s`` (median), ``min_s``, ``images_per_s`` (batch over the
        median) and ``max_memory_allocated`` (bytes; None on a CPU without ``memory``).
    """
    step = runner.step(mode)
    for _ in range(warmup):
        step()
    cuda = runner.device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = [timed(step, runner.device)[0] for _ in range(iters)]
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    elif memory:
        peak = state_bytes(runner.model, runner.optim_wrapper) + \
            peak_extra_bytes(step, runner.device)
    else:
        peak = None
    median = statistics.median(times)
    batch = runner.batch_sizes[mode]
    return dict(batch=batch, step_s=median, min_s=min(times), images_per_s=batch / median,
                max_memory_allocated=peak)


def load_config(path: str, args) -> Tuple[Config, ConfigDict, int]:
    """The config, its offline model config (local vocab, ``--amp``, ``--checkpointing``,
    ``--cfg-options``) and its input side."""
    cfg = Config.fromfile(path)
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    if getattr(args, 'checkpointing', False):
        enable_checkpointing(cfg.model)
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


def enable_checkpointing(model_cfg: ConfigDict) -> None:
    """Activation checkpointing on, as a config turns it on: ``with_cp=True`` on the backbone
    (the stage-wise extractors: Swin blocks, text layers and fusions; mmseg's
    ``SwinTransformer``: its blocks) and on a separate text encoder whose class takes it."""
    for key in ('backbone', 'text_encoder'):
        part = model_cfg.get(key)
        if part is None:
            continue
        cls = MODELS.get(part['type']) if isinstance(part['type'], str) else part['type']
        if 'with_cp' not in inspect.signature(cls).parameters:
            if key == 'backbone':
                raise ValueError(f'--checkpointing: the backbone {cls.__name__} takes no '
                                 'with_cp argument')
            continue
        part.with_cp = True


def header(args, size: int, model_cfg, runners) -> None:
    print(f'{args.batch} x {size}x{size}, '
          f'{model_cfg.data_preprocessor.get("max_length", 20)} tokens; device {args.device}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads'
          f'{", AMP " + str(runners[0].optim_wrapper.cast_dtype) if args.amp else ""}')
    for runner in runners:
        print(f'  {runner.name:18s} {runner.num_params / 1e6:7.1f} M parameters')
