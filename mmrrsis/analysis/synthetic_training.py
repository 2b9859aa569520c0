"""Short trainings of a config on synthetic RefSegRS-format data, then a test: the runs of
``tools/analysis/text_dependence.py`` and ``tools/analysis/no_target.py``."""
import os.path as osp
import time
from typing import Callable, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmrrsis.utils import adapt_cfg_to_machine


def innermost_dataset(dataset: dict) -> dict:
    """The dataset config a chain of wrappers (``dict(type=..., dataset=...)``) ends in."""
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def set_input_size(cfg: Config, size: int) -> None:
    """Makes the network see ``size`` x ``size`` inputs."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (size, size)
    cfg.model.data_preprocessor.size = (size, size)
    vision = cfg.model.backbone.get('vision', cfg.model.backbone)
    if 'pretrain_img_size' in vision:
        vision.pretrain_img_size = size


def configure(cfg: Config, data_root: str, work_dir: str, iters: int, seed: int,
              input_size: Optional[int] = None, unwrap: bool = False) -> Config:
    """Points a synthetic-data config at ``data_root`` and a short ``iters`` schedule.

    The datasets must not be wrapped (their ``data_root`` and pipelines are set here), unless
    ``unwrap``: then each loader's dataset is replaced by the innermost one it wraps (a
    ``_notarget`` child trains and tests its mask on the target samples alone).
    """
    if unwrap:
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].dataset = innermost_dataset(cfg[loader].dataset)
    if input_size is not None:
        set_input_size(cfg, input_size)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.model.data_preprocessor.tokenizer = osp.join(data_root, 'bert_vocab', 'vocab.txt')
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    if len(cfg.param_scheduler) > 1:  # a warm-up first: at most a tenth of a short run
        warmup = min(cfg.param_scheduler[0].end, max(1, iters // 10))
        cfg.param_scheduler[0].end = cfg.param_scheduler[-1].begin = warmup
    cfg.param_scheduler[-1].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.test_evaluator = dict(type='RRSISMetric')
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    return cfg


def train_and_test(cfg: Config, after_test: Optional[Callable[[Runner], dict]] = None) -> dict:
    """Trains a configured run, then tests it; returns the test metrics and the train time,
    and what ``after_test`` (called with the runner after testing) adds."""
    adapt_cfg_to_machine(cfg)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_time = time.time() - start
    metrics = runner.test()
    extra = after_test(runner) if after_test is not None else {}
    return dict({k: float(v) for k, v in metrics.items()}, train_seconds=train_time, **extra)


def empty_share(runner: Runner, loader: str) -> float:
    """Share (%) of a split's samples on which the trained model paints no pixel."""
    dataloader = getattr(runner, loader)
    model = runner.model
    model.eval()
    empty = total = 0
    with torch.no_grad():
        for batch in dataloader:
            for sample in model.test_step(batch):
                empty += int(not sample.pred_sem_seg.data.any())
                total += 1
    return 100.0 * empty / max(total, 1)


def seed_scores(runner: Runner) -> dict:
    """``after_test`` of a seeds run: the val metrics (``val/`` prefix) and the share of
    empty predictions on val and test (``val/empty``, ``test/empty``, %)."""
    scores = {f'val/{k}': float(v) for k, v in runner.val().items()}
    scores['val/empty'] = empty_share(runner, 'val_dataloader')
    scores['test/empty'] = empty_share(runner, 'test_dataloader')
    return scores
