"""Measures how well a referring model says "nothing" to expressions whose object is absent.

Makes synthetic RefSegRS-format data whose splits hold ``--share`` exact no-target
expressions (``no_target.json``: "the red vehicle at the top left" in an image without a red
vehicle), then trains the same tiny config in up to three arms and tests each on the same
test split, target and no-target samples alike:

* ``plain``: the config as it is, trained on the target samples only;
* ``negatives``: trained with the no-target samples too (empty masks), no existence head;
* ``existence``: trained with them and with the existence head of the ``_notarget`` config.

It prints N-acc, T-acc, gIoU and cIoU (all samples) and mIoU / oIoU on the target samples.
The issue's goal: N-acc and T-acc >= 90 % with the existence head, and its mIoU on the target
samples within 3 points of the plain arm's.

For the ``existence`` arm it also scores every val and test sample once more with nothing
emptied, and prints what the decision rests on (:func:`existence_diagnostics`): the AUC of
p between target and no-target samples, the target samples' mask mIoU before emptying, T-acc
apart for the targets the mask finds (IoU >= 0.5) and those it misses, and N-acc / T-acc at
the threshold that balances them on val (:func:`balanced_threshold`).

Example (tiny BTDNet, 2,000 synthetic images of 128 px seen at 64 px, 3,000 iterations of
batch 8; the README table's first rows come from these settings)::

    python tools/analysis/no_target.py configs/btdnet/btdnet_tiny_synthetic.py \\
        --num-images 2000 --size 128 --input-size 64 --iters 3000 --share 0.3 \\
        --out work_dirs/no_target/btdnet.json
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmrrsis.analysis import configure, train_and_test  # noqa: E402
from mmrrsis.datasets.synthetic import NO_TARGET_FILE, make_refsegrs  # noqa: E402
from mmrrsis.registry import METRICS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402

ARMS = ('plain', 'negatives', 'existence')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='No-target check of a referring model')
    parser.add_argument('config', help='a tiny config for synthetic RefSegRS-format data')
    parser.add_argument('--notarget-config', default=None,
                        help='the config whose existence head and NoTargetDataset settings the '
                        '"existence" arm uses (default: CONFIG with _notarget before .py)')
    parser.add_argument('--work-dir', default='work_dirs/no_target')
    parser.add_argument('--num-images', type=int, default=600)
    parser.add_argument('--size', type=int, default=128, help='rendered image size')
    parser.add_argument('--share', type=float, default=0.3,
                        help='share of each split\'s expressions that have no target')
    parser.add_argument('--iters', type=int, default=1500)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--input-size', type=int, default=None,
                        help='network input side (default: the config\'s crop size)')
    parser.add_argument('--arms', nargs='+', choices=ARMS, default=['plain', 'existence'],
                        help='which trainings to run (default: plain existence)')
    parser.add_argument('--out', default=None, help='also write the results to this JSON file')
    return parser.parse_args(argv)


def notarget_config_of(config: str) -> str:
    stem, ext = osp.splitext(config)
    return f'{stem}_notarget{ext}'


def wrapper_settings(notarget: Config) -> dict:
    """The NoTargetDataset arguments of the ``_notarget`` config's test split."""
    wrapper = notarget.test_dataloader.dataset.to_dict()
    if wrapper.get('type') != 'NoTargetDataset':
        raise ValueError('the _notarget config must wrap its test dataset in NoTargetDataset, '
                         f'got {wrapper.get("type")}')
    wrapper.pop('dataset')
    return wrapper


def arm_cfg(config: str, notarget: Config, arm: str, data_root: str, work_dir: str,
            iters: int, seed: int, input_size: Optional[int]) -> Config:
    """The config of one arm: val and test always hold the no-target samples, train only
    from the ``negatives`` arm on, and the ``existence`` arm adds the existence head."""
    cfg = configure(Config.fromfile(config), data_root, work_dir, iters, seed, input_size)
    wrapper = wrapper_settings(notarget)
    for loader in LOADERS:
        if loader != 'train_dataloader' or arm != 'plain':
            cfg[loader].dataset = dict(wrapper, dataset=cfg[loader].dataset)
    if arm == 'existence':
        cfg.model.type = notarget.model.type
        cfg.model.existence_head = notarget.model.existence_head
    return cfg


def sample_scores(model, dataloader, metric_cfg: dict) -> np.ndarray:
    """(p, has_target, IoU) of every sample, the mask taken as predicted before emptying.

    I and U come from a fresh metric built from ``metric_cfg`` (the run's
    ``test_evaluator``, an :class:`RRSISMetric`), so they follow its resolution and ignore
    rules. The existence head's threshold is set to 0 during the pass (p >= 0 always, so no
    mask is emptied) and restored after it.
    """
    metric = METRICS.build(metric_cfg)
    head = model.existence_head
    threshold, head.threshold = head.threshold, 0.0
    scores = []
    try:
        model.eval()
        with torch.no_grad():
            for batch in dataloader:
                samples = model.test_step(batch)
                metric.process(batch, [sample.to_dict() for sample in samples])
                scores += [float(sample.existence_score) for sample in samples]
    finally:
        head.threshold = threshold
    # each result: (I, U, category, has_target, predicted pixels)
    rows = [(p, float(r[3]), r[0] / r[1] if r[1] else 0.0)
            for p, r in zip(scores, metric.results)]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def _accuracies(scores: np.ndarray, present: np.ndarray, threshold: float):
    """(N-acc, T-acc) in percent when p < threshold means "absent"."""
    return (100 * float((scores[~present] < threshold).mean()),
            100 * float((scores[present] >= threshold).mean()))


def balanced_threshold(scores: np.ndarray, present: np.ndarray) -> float:
    """The threshold that maximises min(N-acc, T-acc) (the lowest one on a tie)."""
    candidates = np.unique(np.concatenate([scores, [1.0 + 1e-6]]))
    balance = [min(_accuracies(scores, present, t)) for t in candidates]
    return float(candidates[int(np.argmax(balance))])


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting one half."""
    if not len(positive) or not len(negative):
        return float('nan')
    diff = positive[:, None] - negative[None]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def existence_diagnostics(test: np.ndarray, threshold: float,
                          val: Optional[np.ndarray] = None) -> dict:
    """What an existence head's answers rest on, from :func:`sample_scores` rows.

    Args:
        test (np.ndarray): (N, 3) rows (p, has_target, IoU of the unemptied mask) of the
            test split.
        threshold (float): The head's threshold.
        val (np.ndarray, optional): The val split's rows, to pick :func:`balanced_threshold`
            on. Defaults to None (not reported).

    Returns:
        dict: ``AUC`` of p (targets against no-target samples); ``mask mIoU`` (target
        samples, before emptying, percent); ``found`` (percent of target samples whose mask
        has IoU >= 0.5); ``T-acc found`` and ``T-acc missed`` (T-acc over those and over
        the rest); ``AUC found`` (found targets against no-target samples); with ``val``,
        ``val threshold`` and the test ``N-acc`` / ``T-acc`` at it.
    """
    scores, present, iou = test[:, 0], test[:, 1].astype(bool), test[:, 2]
    found = present & (iou >= 0.5)
    missed = present & ~found
    report = {
        'AUC': _auc(scores[present], scores[~present]),
        'mask mIoU': 100 * float(iou[present].mean()),
        'found': 100 * float(found.sum() / max(1, present.sum())),
        'T-acc found': 100 * float((scores[found] >= threshold).mean()) if found.any() else
        float('nan'),
        'T-acc missed': 100 * float((scores[missed] >= threshold).mean()) if missed.any() else
        float('nan'),
        'AUC found': _auc(scores[found], scores[~present]),
    }
    if val is not None:
        t = balanced_threshold(val[:, 0], val[:, 1].astype(bool))
        report['val threshold'] = t
        report['N-acc at val threshold'], report['T-acc at val threshold'] = _accuracies(
            scores, present, t)
    return report


def existence_report(runner: Runner) -> dict:
    """:func:`existence_diagnostics` of a trained existence arm (threshold picked on val)."""
    model = getattr(runner.model, 'module', runner.model)
    val = sample_scores(model, runner.val_dataloader, runner.cfg.test_evaluator)
    test = sample_scores(model, runner.test_dataloader, runner.cfg.test_evaluator)
    return dict(diagnostics=existence_diagnostics(test, model.existence_head.threshold, val))


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    notarget = Config.fromfile(args.notarget_config or notarget_config_of(args.config))
    data = osp.join(args.work_dir, 'data')
    os.makedirs(args.work_dir, exist_ok=True)
    summary = make_refsegrs(data, args.num_images, seed=args.seed, size=args.size,
                            no_target_share=args.share)
    results = {}
    for arm in args.arms:
        cfg = arm_cfg(args.config, notarget, arm, data, osp.join(args.work_dir, arm), args.iters,
                      args.seed, args.input_size)
        results[arm] = train_and_test(cfg, existence_report if arm == 'existence' else None)
    first = next(iter(results.values()))
    tested = int(first['num_samples']), int(first['num_no_target'])
    print(f'\n{args.config}: {args.iters} iterations, {args.num_images} images of {args.size} '
          f'px, input {args.input_size or "as configured"}; tested on '
          f'{tested[0] - tested[1]} target + {tested[1]} no-target expressions '
          f'({NO_TARGET_FILE}, {args.share:.0%} of each split)')
    print(f'  {"arm":10s} {"N-acc":>6s} {"T-acc":>6s} {"gIoU":>6s} {"cIoU":>6s} '
          f'{"mIoU(target)":>12s} {"oIoU(target)":>12s} {"train s":>8s}')
    for arm, res in results.items():
        print(f'  {arm:10s} {res["N-acc"]:6.2f} {res["T-acc"]:6.2f} {res["gIoU"]:6.2f} '
              f'{res["cIoU"]:6.2f} {res["mIoU"]:12.2f} {res["oIoU"]:12.2f} '
              f'{res["train_seconds"]:8.1f}')
    for arm, res in results.items():
        if 'diagnostics' in res:
            d = res['diagnostics']
            print(f'  {arm}: AUC of p {d["AUC"]:.3f}; mask mIoU before emptying '
                  f'{d["mask mIoU"]:.2f}; T-acc {d["T-acc found"]:.2f} on the '
                  f'{d["found"]:.1f} % of targets the mask finds (IoU >= 0.5), '
                  f'{d["T-acc missed"]:.2f} on the others (AUC found vs no-target '
                  f'{d["AUC found"]:.3f}); at the val-balanced threshold '
                  f'{d["val threshold"]:.3f}: N-acc {d["N-acc at val threshold"]:.2f}, '
                  f'T-acc {d["T-acc at val threshold"]:.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, iters=args.iters, num_images=args.num_images,
                           size=args.size, input_size=args.input_size, share=args.share,
                           no_target_samples=summary['no_target_samples'],
                           results=results), f, indent=1)
    return results


if __name__ == '__main__':
    main()
