"""Every tiny config learns to read the expression on a tiny colour-pair set (issue 26).

Two 48-px images, each written twice with two same-category targets told apart only by their
colour (``make_refsegrs(colour_pairs=True)``), seen at 32 px. A model blind to the text gives
both samples of an image the same mask M, and IoU(M, A) + IoU(M, B) <= 1 for disjoint targets A
and B, so it scores at most 50 mIoU. After a short training on the four samples the prediction
must be non-empty on every sample and beat that bound: a model that collapses to "no target"
(the tiny SBANet before issue 26) or ignores the words fails.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmrrsis.analysis import innermost_dataset, set_input_size
from mmrrsis.datasets.synthetic import make_refsegrs
from mmrrsis.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32
TEXT_BLIND_BOUND = 50.0
STEPS = 120
# Every tiny config, the _notarget children's masks included. The tiny SBANet sits on a
# "paint nothing" plateau for the first ~160 steps from most initialisations here (it escaped
# before step 120 from 2 of 6 tried), so it is a strict xfail that names issue 26.
SBANET_SLOW = pytest.mark.xfail(
    strict=True, reason='issue 26: the tiny SBANet paints nothing after 120 steps')
CASES = {
    'lavt_tiny': 'configs/lavt/lavt_tiny_synthetic.py',
    'lavt_tiny_notarget': 'configs/lavt/lavt_tiny_synthetic_notarget.py',
    'btdnet_tiny': 'configs/btdnet/btdnet_tiny_synthetic.py',
    'btdnet_tiny_notarget': 'configs/btdnet/btdnet_tiny_synthetic_notarget.py',
    'rmsin_tiny': 'projects/rmsin/configs/rmsin_tiny_synthetic.py',
    'fianet_tiny': 'projects/fianet/configs/fianet_tiny_synthetic.py',
    'sbanet_tiny': pytest.param('projects/sbanet/configs/sbanet_tiny_synthetic.py',
                                marks=SBANET_SLOW),
}


@pytest.fixture(scope='module')
def pairs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('colour_pairs'))
    make_refsegrs(root, 2, seed=1, size=48, split_ratios=(1, 0, 0), colour_pairs=True)
    return root


def build(config, root):
    cfg = Config.fromfile(osp.join(REPO, config))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # a _notarget child learns its mask from the target samples
        cfg[loader].dataset = innermost_dataset(cfg[loader].dataset)
    set_input_size(cfg, SIZE)
    if cfg.model.get('neck', None) and cfg.model.neck.get('type') == 'CIM':
        cfg.model.neck.grid = (SIZE // 32, SIZE // 32)  # the stage-4 map
    cfg.model.data_preprocessor.tokenizer = osp.join(root, 'bert_vocab', 'vocab.txt')
    dataset = copy.deepcopy(innermost_dataset(cfg.test_dataloader.dataset))
    dataset.update(data_root=root, split='train')
    samples = [DATASETS.build(dataset)[i] for i in range(4)]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), pseudo_collate(samples)


@pytest.mark.parametrize('config', list(CASES.values()), ids=list(CASES))
def test_tiny_config_reads_the_text(pairs, config):
    model, wrapper, batch = build(config, pairs)
    model.train()
    for _ in range(STEPS):
        model.train_step(copy.deepcopy(batch), wrapper)
    model.eval()
    with torch.no_grad():
        results = model.test_step(copy.deepcopy(batch))
    ious, painted = [], []
    for result in results:
        pred = result.pred_sem_seg.data[0].bool()
        gt = result.gt_sem_seg.data[0].bool()
        painted.append(int(pred.sum()))
        ious.append(100.0 * int((pred & gt).sum()) / int((pred | gt).sum()))
    assert min(painted) > 0, f'{config}: empty prediction on a sample ({painted} pixels)'
    assert np.mean(ious) > TEXT_BLIND_BOUND + 10, f'{config}: per-sample IoU {ious}'
