"""tools/image_demo.py writes the mask and the captioned overlay (tiny random BTDNet, CPU)."""
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import torch
from mmengine.config import Config

from mmrrsis.apis import inference_model, init_model, pred_mask
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py')
EXPRESSION = 'the red vehicle at the top left'


def test_image_demo_writes_mask_and_overlay(tmp_path):
    vocab = build_vocab([EXPRESSION], str(tmp_path / 'vocab'), vocab_size=200)
    cfg_options = {'model.data_preprocessor.tokenizer': vocab}
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(cfg_options)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, checkpoint)
    y, x = np.mgrid[0:70, 0:90]
    image = str(tmp_path / 'scene.png')
    mmcv.imwrite(np.stack([x * 2, y * 3, (x + y) % 255], -1).astype(np.uint8), image)

    out_file = str(tmp_path / 'out' / 'overlay.png')
    proc = subprocess.run(
        [sys.executable, 'tools/image_demo.py', image, EXPRESSION, CONFIG, checkpoint,
         '--out-file', out_file, '--device', 'cpu', '--cfg-options',
         f'model.data_preprocessor.tokenizer={vocab}'],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    mask = mmcv.imread(str(tmp_path / 'out' / 'overlay_mask.png'), 'unchanged')
    assert mask.shape == (70, 90) and set(np.unique(mask).tolist()) <= {0, 255}
    model = init_model(CONFIG, checkpoint, cfg_options=cfg_options)
    np.testing.assert_array_equal(mask, pred_mask(inference_model(model, image, EXPRESSION)) * 255)
    overlay = mmcv.imread(out_file)
    # scaled x3 to reach 256 px wide; the caption strip below makes it taller than 3 x 70
    assert overlay.shape[1] == 270 and overlay.shape[0] > 210
    assert 'overlay_mask.png' in proc.stdout


def test_image_demo_prints_the_existence_score(tmp_path):
    config = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic_notarget.py')
    vocab = build_vocab([EXPRESSION], str(tmp_path / 'vocab'), vocab_size=200)
    image = str(tmp_path / 'scene.png')
    mmcv.imwrite(np.full((40, 40, 3), 120, np.uint8), image)
    out_file = str(tmp_path / 'overlay.png')
    # random weights (no checkpoint); threshold 1 always empties the mask
    proc = subprocess.run(
        [sys.executable, 'tools/image_demo.py', image, EXPRESSION, config, '--out-file',
         out_file, '--device', 'cpu', '--cfg-options',
         f'model.data_preprocessor.tokenizer={vocab}', 'model.existence_head.threshold=1.0'],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'existence score 0.' in proc.stdout
    assert '(threshold 1): target absent, mask emptied' in proc.stdout
    assert '0.0% of the image is target' in proc.stdout
    assert not mmcv.imread(str(tmp_path / 'overlay_mask.png'), 'unchanged').any()
