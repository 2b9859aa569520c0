"""The user-facing tools run RSRefSeg 2: a tiny random model from a saved checkpoint segments a
non-square image through the inference API (what tools/image_demo.py calls), the web demo's
"Segment" handler (tools/webui.py) and the tiled large-scene inference
(tools/large_scene_infer.py), each returning the mask at the image's size."""
import importlib.util
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmrrsis.apis import inference_model, init_model, pred_mask, show_result
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = osp.join(REPO, 'projects', 'rsrefseg2', 'configs', 'rsrefseg2_tiny_synthetic.py')
EXPRESSION = 'the red vehicle at the top left'


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_rsrefseg2')
    vocab = build_vocab([EXPRESSION], str(root / 'vocab'), vocab_size=200)
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'model.data_preprocessor.tokenizer': vocab})
    torch.manual_seed(0)
    checkpoint = str(root / 'tiny.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, checkpoint)
    return init_model(cfg, checkpoint, device='cpu')


def _image(height, width):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1),
                     ((x // 8 + y // 8) % 2) * 255], -1).astype(np.uint8)


def test_inference_from_checkpoint(tiny):
    image = (np.random.RandomState(0).rand(70, 90, 3) * 255).astype(np.uint8)
    result = inference_model(tiny, image, EXPRESSION)
    mask = pred_mask(result)
    assert mask.shape == (70, 90)
    assert set(np.unique(mask)) <= {0, 1}
    assert result.seg_logits.data.shape == (1, 70, 90)
    assert show_result(tiny, image, result).shape[1] >= 90


def test_web_demo_and_large_scene(tiny, tmp_path):
    image = _image(70, 90)
    expected = pred_mask(inference_model(tiny, image, EXPRESSION))
    assert 0 < expected.sum() < expected.size  # a mask worth comparing

    spec = importlib.util.spec_from_file_location('webui', osp.join(REPO, 'tools', 'webui.py'))
    webui = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(webui)
    path = str(tmp_path / 'scene.png')
    mmcv.imwrite(image, path)
    demo = webui.Demo(tiny, out_dir=str(tmp_path / 'webui'))
    overlay, mask, mask_path, _, score, status = demo.segment(path, EXPRESSION)
    np.testing.assert_array_equal(mask, expected * 255)
    np.testing.assert_array_equal(mmcv.imread(mask_path, 'unchanged'), mask)
    assert overlay.ndim == 3 and score == 'no existence head' and '90x70' in status

    rasterio = pytest.importorskip('rasterio')
    from rasterio.transform import from_origin

    from mmrrsis.apis.large_scene import infer_large_scene
    scene, out = str(tmp_path / 'scene.tif'), str(tmp_path / 'mask.tif')
    rgb = image[..., ::-1].transpose(2, 0, 1)  # the PNG above is BGR; the GeoTIFF holds RGB
    with rasterio.open(scene, 'w', driver='GTiff', width=90, height=70, count=3, dtype='uint8',
                       crs='EPSG:32633', transform=from_origin(5e5, 5e6, 0.5, 0.5)) as dst:
        dst.write(rgb)
    # one tile covering the scene: exactly the image's prediction (the sigmoid head's
    # seg_logits hold probabilities, which target_margin once took for logits)
    summary = infer_large_scene(tiny, scene, EXPRESSION, out, tile=90, overlap=16,
                                show_progress=False)
    assert summary['num_tiles'] == 1
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), expected * 255)
    # 2 x 3 overlapping tiles, batched: a binary mask at the scene's size
    summary = infer_large_scene(tiny, scene, EXPRESSION, out, tile=48, overlap=16,
                                batch_size=4, show_progress=False)
    assert summary['num_tiles'] == 6
    with rasterio.open(out) as src:
        tiled = src.read(1)
    assert tiled.shape == (70, 90) and set(np.unique(tiled).tolist()) <= {0, 255}
