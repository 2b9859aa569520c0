"""Records or compares a config's outputs on fixed weights: the check that a refactor changes
no model.

    # before the change: random weights (seeded), a fixed batch, every output saved
    python tools/analysis/output_fingerprint.py CONFIG [CONFIG ...] --save OUT_DIR \
        --data-root DATA [--no-weights]
    # after it: the saved weights loaded strictly (old checkpoints must load), outputs compared
    python tools/analysis/output_fingerprint.py CONFIG [CONFIG ...] --compare OUT_DIR \
        --data-root DATA

DATA is a folder holding ``refsegrs/`` and ``rrsisd/`` synthetic datasets written by
``tools/dataset_converters/make_synthetic.py`` (their ``bert_vocab`` is the tokenizer); every
config reads two samples of the synthetic set of its format through its own test pipeline.
The outputs are the predicted logits and existence scores (``model.predict``) and the
losses in train mode with every dropout and drop-path off; the comparison prints the largest
absolute difference of each relative to its range and fails above ``--tol``. With
``--no-weights`` the weights are not saved (large models): the compare run rebuilds them from
the same seed, which holds only while the modules are built in the same order.
"""
import argparse
import copy
import logging
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # projects
from mmrrsis.analysis import innermost_dataset  # noqa: E402
from mmrrsis.registry import DATASETS, MODELS  # noqa: E402
from mmrrsis.utils import register_all_modules  # noqa: E402
from mmrrsis.utils.offline import offline_model_cfg  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--save', metavar='DIR')
    mode.add_argument('--compare', metavar='DIR')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--no-weights', action='store_true')
    parser.add_argument('--size', type=int,
                        help='input side (default: the config\'s preprocessor size)')
    parser.add_argument('--tol', type=float, default=1e-5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def fixed_batch(cfg: Config, data_root: str, size: int) -> dict:
    """Two test samples of the synthetic set in the config's format, through its pipeline."""
    # the dataset itself, without wrappers such as NoTargetDataset (which need more images)
    inner = copy.deepcopy(innermost_dataset(cfg.test_dataloader.dataset))
    fmt = 'rrsisd' if 'RRSISD' in inner['type'] else 'refsegrs'
    inner['data_root'] = osp.join(data_root, fmt)
    for transform in inner['pipeline']:
        if size and transform['type'] in ('Resize', 'RandomResize'):
            transform.update(scale=(size, size), keep_ratio=False)
    dataset = DATASETS.build(inner)
    return pseudo_collate([dataset[0], dataset[1]])


def no_dropout(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if hasattr(module, 'drop_prob'):
            module.drop_prob = 0.0
        if hasattr(module, 'dropout_prob'):
            module.dropout_prob = 0.0


def outputs(model: nn.Module, batch: dict) -> dict:
    result = {}
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        preds = model.predict(**data)
        result['seg_logits'] = torch.stack([p.seg_logits.data for p in preds])
        for p_i, p in enumerate(preds):
            if 'existence_score' in p:
                result[f'existence_{p_i}'] = p.existence_score.reshape(1)
    model.train()
    no_dropout(model)
    torch.manual_seed(1)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    for name, value in model.loss(**data).items():
        if isinstance(value, torch.Tensor):
            result[f'train.{name}'] = value.detach().reshape(-1).float()
    return result


def main():
    args = parse_args()
    register_all_modules()
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    init_default_scope('mmrrsis')
    folder = args.save or args.compare
    os.makedirs(folder, exist_ok=True)
    failed = []
    for path in args.configs:
        try:
            failed += check(path, args, folder)
        except Exception as error:  # report and go on with the next config
            print(f'{path}: FAILED {type(error).__name__}: {error}')
            failed.append(path)
    if failed:
        print(f'{len(failed)} differ or failed: {failed}')
        sys.exit(1)


def check(path: str, args, folder: str) -> list:
    """Saves or compares one config; returns [its name] when it differs."""
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    inner = innermost_dataset(cfg.test_dataloader.dataset)
    fmt = 'rrsisd' if 'RRSISD' in inner['type'] else 'refsegrs'
    cfg.model.data_preprocessor.tokenizer = osp.join(args.data_root, fmt, 'bert_vocab',
                                                     'vocab.txt')
    if args.size:
        cfg.model.data_preprocessor.size = (args.size, args.size)
    offline_model_cfg(cfg.model)
    name = osp.splitext(osp.basename(path))[0]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    file = osp.join(folder, name + '.pt')
    batch = fixed_batch(cfg, args.data_root, args.size)
    if args.save:
        # before the outputs: a train-mode pass updates the norms' running statistics
        state_dict = None if args.no_weights else copy.deepcopy(model.state_dict())
        result = outputs(model, batch)
        torch.save(dict(state_dict=state_dict, outputs=result), file)
        print(f'{name}: saved {len(result)} outputs')
        return []
    saved = torch.load(file, weights_only=False)
    if saved['state_dict'] is not None:
        model.load_state_dict(saved['state_dict'], strict=True)
    result = outputs(model, batch)
    worst = 0.0
    missing = sorted(set(saved['outputs']) ^ set(result))
    for key, before in saved['outputs'].items():
        if key not in result:
            continue
        scale = max(float(before.max() - before.min()), float(before.abs().max()), 1e-12)
        worst = max(worst, float((result[key] - before).abs().max()) / scale)
    ok = worst <= args.tol and not missing
    print(f'{name}: {"OK" if ok else "DIFFERENT"}, largest difference {worst:.2e} of the '
          'range'
          + (f', outputs only on one side: {missing}' if missing else ''))
    return [] if ok else [name]


if __name__ == '__main__':
    main()
