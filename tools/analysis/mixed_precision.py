"""Mixed precision proven on the tiny configs: float32, bfloat16 and float16 training runs
from the same weights on the same batches.

    python tools/analysis/mixed_precision.py CONFIG [CONFIG ...] --data-root DATA \
        [--iters 200] [--batch 4] [--dtypes float32 bfloat16 float16] [--out FILE.json]

DATA holds ``refsegrs/`` and ``rrsisd/`` synthetic datasets from
``tools/dataset_converters/make_synthetic.py``; each config trains on the set of its format
through its own train pipeline, ``--batch`` samples a step in the same seeded order for every
dtype, with the config's optimizer at a constant learning rate. Per dtype:

* ``float32``: the config's ``OptimWrapper``;
* ``bfloat16``: ``CPUAmpOptimWrapper`` (what ``tools/train.py --amp`` uses without a GPU);
* ``float16``: mmengine's ``AmpOptimWrapper`` with dynamic loss scaling, as ``--amp`` on
  CUDA; on a CPU its CUDA check is bypassed, its ``GradScaler`` is ``torch.amp``'s CPU one
  and its autocast ``torch.autocast('cpu', float16)`` (mmengine's allows only bfloat16
  there). What a GPU adds, its float16 kernels, is not exercised.

Printed per config and dtype: the step-0 loss and its difference to float32, whether every
loss and every gradient of every step was finite (float16: the steps the loss scaler skipped
for an inf/NaN gradient are counted, as on a GPU), and the mean loss of the first and last
20 steps.
"""
import argparse
import contextlib
import copy
import json
import math
import os.path as osp
import sys
from unittest import mock

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # projects
import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmrrsis.analysis import innermost_dataset  # noqa: E402
from mmrrsis.registry import MODELS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402

DTYPES = ('float32', 'bfloat16', 'float16')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--dtypes', nargs='+', default=list(DTYPES), choices=DTYPES)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--out', default=None, help='write the figures to this JSON file')
    return parser.parse_args(argv)


def loader(cfg: Config, data_root: str, batch: int):
    """The config's train dataloader on the synthetic set of its format, in a seeded order."""
    cfg = copy.deepcopy(cfg)
    inner = innermost_dataset(cfg.train_dataloader.dataset)
    fmt = 'rrsisd' if 'RRSISD' in inner['type'] else 'refsegrs'
    inner['data_root'] = osp.join(data_root, fmt)
    cfg.train_dataloader.update(batch_size=batch, num_workers=0, persistent_workers=False)
    return Runner.build_dataloader(cfg.train_dataloader, seed=0), fmt


def optim_wrapper(model, cfg: Config, dtype: str):
    base = copy.deepcopy(cfg.optim_wrapper)
    if dtype == 'float32':
        return build_optim_wrapper(model, base)
    if dtype == 'bfloat16':
        return build_optim_wrapper(model, dict(base, type='CPUAmpOptimWrapper',
                                               dtype='bfloat16'))
    target = 'mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available'
    with mock.patch(target, return_value=True):
        wrapper = build_optim_wrapper(model, dict(base, type='AmpOptimWrapper',
                                                  loss_scale='dynamic', dtype='float16'))
    if not next(model.parameters()).is_cuda:
        wrapper.loss_scaler = torch.amp.GradScaler('cpu')
    return wrapper


def amp_context(dtype: str):
    """float16 on a CPU: mmengine's ``autocast``, which ``AmpOptimWrapper.optim_context``
    enters, allows only bfloat16 there; ``torch.autocast`` itself runs float16."""
    if dtype != 'float16' or torch.cuda.is_available():
        return contextlib.nullcontext()
    return mock.patch('mmengine.runner.amp.autocast',
                      lambda dtype=None, **kwargs: torch.autocast('cpu', dtype=dtype))


def train(cfg: Config, args, dtype: str) -> dict:
    """``args.iters`` training steps in ``dtype``; the losses and the finiteness checks."""
    data, _ = loader(cfg, args.data_root, args.batch)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    wrapper = optim_wrapper(model, cfg, dtype)
    losses, finite_losses, finite_grads, skipped = [], True, True, 0
    batches = iter(data)
    torch.manual_seed(1)
    for _ in range(args.iters):
        batch = next(batches)
        model.train()
        with amp_context(dtype), wrapper.optim_context(model):
            inputs = model.data_preprocessor(batch, True)
            parsed, _ = model.parse_losses(model(**inputs, mode='loss'))
        finite_losses &= bool(torch.isfinite(parsed))
        wrapper.backward(parsed)
        if dtype == 'float16':
            # the scaler skips the step and lowers the scale on an inf/NaN (scaled) gradient
            scale = wrapper.loss_scaler.get_scale()
            wrapper.step()
            skipped += wrapper.loss_scaler.get_scale() < scale
        else:
            finite_grads &= all(bool(torch.isfinite(p.grad).all())
                                for p in model.parameters() if p.grad is not None)
            wrapper.step()
        wrapper.zero_grad()
        losses.append(float(parsed))
    # float16: finite once the scale has settled, as the scaler's skipped steps allow
    finite_grads &= dtype != 'float16' or skipped < args.iters
    window = min(20, len(losses))
    return dict(step0=losses[0], first=sum(losses[:window]) / window,
                last=sum(losses[-window:]) / window, finite_losses=finite_losses,
                finite_grads=finite_grads, skipped_steps=skipped,
                loss_scale=wrapper.loss_scaler.get_scale() if dtype == 'float16' else None,
                losses=losses)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    init_default_scope('mmrrsis')
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    report = {}
    print(f'{"config":44s} {"dtype":9s} {"step 0":>8s} {"vs fp32":>8s} {"finite":>7s} '
          f'{"skipped":>7s} {"first 20":>9s} {"last 20":>8s}')
    for path in args.configs:
        cfg = Config.fromfile(path)
        _, fmt = loader(cfg, args.data_root, args.batch)
        cfg.model.data_preprocessor.tokenizer = osp.join(args.data_root, fmt, 'bert_vocab',
                                                         'vocab.txt')
        name = osp.splitext(osp.basename(path))[0]
        report[name] = {}
        for dtype in args.dtypes:
            result = train(cfg, args, dtype)
            report[name][dtype] = result
            ref = report[name].get('float32')
            diff = (result['step0'] - ref['step0']) / ref['step0'] if ref else math.nan
            finite = 'yes' if result['finite_losses'] and result['finite_grads'] else 'NO'
            print(f'{name:44s} {dtype:9s} {result["step0"]:8.4f} {100 * diff:7.2f}% '
                  f'{finite:>7s} {result["skipped_steps"]:7d} {result["first"]:9.4f} '
                  f'{result["last"]:8.4f}', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
