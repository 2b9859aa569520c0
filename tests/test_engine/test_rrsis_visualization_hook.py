"""RRSISVisualizationHook: first k samples of every validation, every sample in testing."""
import glob
import os.path as osp
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmengine.runner import EpochBasedTrainLoop
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.engine import RRSISVisualizationHook
from mmrrsis.registry import HOOKS
from mmrrsis.visualization import RRSISLocalVisualizer

SIZE = 32


def _batches(folder, num_batches=3, batch_size=2):
    """Val outputs: image files with a ground truth and a prediction each."""
    batches = []
    for b in range(num_batches):
        samples = []
        for i in range(batch_size):
            idx = b * batch_size + i
            path = osp.join(folder, f'img{idx}.png')
            mmcv.imwrite(np.full((SIZE, SIZE, 3), 20 * idx, np.uint8), path)
            sample = SegDataSample(metainfo=dict(img_path=path, sent_id=idx,
                                                 expression=f'the car number {idx}'))
            gt = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
            gt[:, :16] = 1
            sample.gt_sem_seg = PixelData(data=gt)
            sample.pred_sem_seg = PixelData(data=1 - gt)
            samples.append(sample)
        batches.append(samples)
    return batches


@pytest.fixture
def setup(tmp_path, request):
    RRSISLocalVisualizer.get_instance(
        f'hook_test_{request.node.name}', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'work'))
    return _batches(str(tmp_path)), str(tmp_path / 'work' / 'vis_data' / 'vis_image')


def _pictures(folder, prefix):
    return sorted(osp.basename(p) for p in glob.glob(osp.join(folder, f'{prefix}_*.png')))


def _validate(hook, runner, batches):
    hook.before_val_epoch(runner)
    for idx, outputs in enumerate(batches):
        hook.after_val_iter(runner, idx, {}, outputs)


def test_first_k_samples_of_every_validation(setup):
    batches, vis_dir = setup
    hook = HOOKS.build(dict(type='RRSISVisualizationHook', draw=True, num_val_samples=3))
    runner = SimpleNamespace(iter=400, epoch=0)
    _validate(hook, runner, batches)
    runner.iter = 800
    _validate(hook, runner, batches)
    assert _pictures(vis_dir, 'val') == sorted(
        f'val_img{i}.png_sent{i}_{step}.png' for i in range(3) for step in (400, 800))
    picture = mmcv.imread(osp.join(vis_dir, 'val_img0.png_sent0_400.png'))
    # ground truth | prediction panels, each scaled x8 to reach 256 px, plus the caption
    assert picture.shape[1] == 2 * 8 * SIZE and picture.shape[0] > 8 * SIZE


def test_epoch_based_training_steps_by_epoch(setup):
    batches, vis_dir = setup
    hook = RRSISVisualizationHook(draw=True, num_val_samples=1)
    runner = SimpleNamespace(iter=123, epoch=2,
                             _train_loop=EpochBasedTrainLoop.__new__(EpochBasedTrainLoop))
    _validate(hook, runner, batches)
    assert _pictures(vis_dir, 'val') == ['val_img0.png_sent0_2.png']


def test_testing_draws_every_sample_of_every_interval_batch(setup):
    batches, vis_dir = setup
    hook = RRSISVisualizationHook(draw=True, interval=1)
    runner = SimpleNamespace(iter=0, epoch=0)
    for idx, outputs in enumerate(batches):
        hook.after_test_iter(runner, idx, {}, outputs)
    assert len(_pictures(vis_dir, 'test')) == 6
    assert _pictures(vis_dir, 'val') == []


def test_nothing_is_drawn_without_draw(setup):
    batches, vis_dir = setup
    hook = RRSISVisualizationHook(draw=False)
    runner = SimpleNamespace(iter=0, epoch=0)
    _validate(hook, runner, batches)
    for idx, outputs in enumerate(batches):
        hook.after_test_iter(runner, idx, {}, outputs)
    assert glob.glob(osp.join(vis_dir, '*.png')) == []
