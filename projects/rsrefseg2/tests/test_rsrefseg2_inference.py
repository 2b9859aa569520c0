"""The user-facing inference API (what tools/image_demo.py, webui.py and large_scene_infer.py
call) runs RSRefSeg 2: a tiny random model from a saved checkpoint segments a non-square image
and returns a mask at the image's size."""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config

from mmrrsis.apis import inference_model, init_model, pred_mask
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = osp.join(REPO, 'projects', 'rsrefseg2', 'configs', 'rsrefseg2_tiny_synthetic.py')
EXPRESSION = 'the red vehicle at the top left'


def test_inference_from_checkpoint(tmp_path):
    vocab = build_vocab([EXPRESSION], str(tmp_path / 'vocab'), vocab_size=200)
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'model.data_preprocessor.tokenizer': vocab})
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, checkpoint)
    model = init_model(cfg, checkpoint, device='cpu')
    image = (np.random.RandomState(0).rand(70, 90, 3) * 255).astype(np.uint8)
    result = inference_model(model, image, EXPRESSION)
    mask = pred_mask(result)
    assert mask.shape == (70, 90)
    assert set(np.unique(mask)) <= {0, 1}
    assert result.seg_logits.data.shape == (1, 70, 90)
