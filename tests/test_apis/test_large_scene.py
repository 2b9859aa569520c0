"""Large-scene inference: georeferencing kept, tiles stitched exactly, 16-bit stretched."""
import json
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from mmrrsis.apis import inference_model, pred_mask
from mmrrsis.apis.large_scene import (blend_window, infer_large_scene, target_margin,
                                       tile_starts)

rasterio = pytest.importorskip('rasterio')
from rasterio.transform import from_origin  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXPRESSION = 'the red vehicle at the top left'
TRANSFORM = from_origin(500000.0, 5000000.0, 0.5, 0.5)


def _rgb(height, width):
    """(3, H, W) uint8 colour ramps with a checkerboard; each band spans 0..255."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1),
                     ((x // 24 + y // 24) % 2) * 255]).astype(np.uint8)


def _write_scene(path, data):
    with rasterio.open(path, 'w', driver='GTiff', width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=data.dtype.name, crs='EPSG:32633',
                       transform=TRANSFORM) as dst:
        dst.write(data)
    return str(path)


def _read_mask(path):
    with rasterio.open(path) as src:
        return src.read(1)


def _bgr(data):
    return np.ascontiguousarray(data.transpose(1, 2, 0)[..., ::-1])


def test_tile_grid_and_blend_weights():
    assert tile_starts(1500, 512, 384) == [0, 384, 768, 988]
    assert tile_starts(1100, 512, 384) == [0, 384, 588]
    assert tile_starts(64, 512, 384) == [0]
    assert tile_starts(512, 512, 384) == [0]
    weights = blend_window(64, 64, 16)
    assert weights.min() > 0 and weights.max() == 1
    # two tiles overlapping by the ramp length cross-fade: their weights sum to 1 there
    np.testing.assert_allclose(weights[32, 48:] + weights[32, :16], 1.0, rtol=1e-6)
    assert (blend_window(8, 8, 0) == 1).all()


def test_single_tile_equals_whole_image_inference(tiny_model, tmp_path):
    scene = _write_scene(tmp_path / 'small.tif', _rgb(64, 64))
    out = str(tmp_path / 'small_mask.tif')
    summary = infer_large_scene(tiny_model, scene, EXPRESSION, out, tile=64, overlap=16,
                                show_progress=False)
    assert summary['num_tiles'] == 1
    mask = _read_mask(out)
    expected = pred_mask(inference_model(tiny_model, scene, EXPRESSION)) * 255
    assert 0 < np.count_nonzero(expected) < expected.size  # a mask worth comparing
    np.testing.assert_array_equal(mask, expected)


def test_tiles_are_blended_in_overlaps_and_kept_elsewhere(tiny_model, tmp_path):
    """2 x 2 tiles of 64 px overlapping by 16, checked against a whole-canvas blend."""
    data = _rgb(112, 112)
    scene = _write_scene(tmp_path / 'four.tif', data)
    out = str(tmp_path / 'four_mask.tif')
    summary = infer_large_scene(tiny_model, scene, EXPRESSION, out, tile=64, overlap=16,
                                batch_size=1, show_progress=False)
    assert summary['num_tiles'] == 4
    mask = _read_mask(out)
    canvas = np.zeros((112, 112), np.float32)
    weights = blend_window(64, 64, 16)
    own = {0: slice(0, 48), 48: slice(64, 112)}  # rows/columns no other tile covers
    for y in (0, 48):
        for x in (0, 48):
            result = inference_model(tiny_model, _bgr(data[:, y:y + 64, x:x + 64]), EXPRESSION)
            canvas[y:y + 64, x:x + 64] += weights * target_margin(result)
            rows, cols = own[y], own[x]
            np.testing.assert_array_equal(
                mask[rows, cols], pred_mask(result)[rows.start - y:rows.stop - y,
                                                    cols.start - x:cols.stop - x] * 255)
    np.testing.assert_array_equal(mask, np.where(canvas > 0, 255, 0))


def test_16_bit_scene_is_stretched_like_its_8_bit_source(tiny_model, tmp_path):
    data = _rgb(64, 96)
    scene8 = _write_scene(tmp_path / 'scene8.tif', data)
    scene16 = _write_scene(tmp_path / 'scene16.tif', data.astype(np.uint16) * 257)
    for scene in (scene8, scene16):
        infer_large_scene(tiny_model, scene, EXPRESSION, scene.replace('.tif', '_mask.tif'),
                          tile=64, overlap=16, percentiles=(0, 100), show_progress=False)
    np.testing.assert_array_equal(_read_mask(str(tmp_path / 'scene8_mask.tif')),
                                  _read_mask(str(tmp_path / 'scene16_mask.tif')))


def test_bad_tiling_and_band_count(tiny_model, tmp_path):
    scene = _write_scene(tmp_path / 'two.tif', _rgb(32, 32)[:2])
    with pytest.raises(ValueError, match='2 bands'):
        infer_large_scene(tiny_model, scene, EXPRESSION, str(tmp_path / 'm.tif'),
                          show_progress=False)
    with pytest.raises(ValueError, match='overlap'):
        infer_large_scene(tiny_model, scene, EXPRESSION, str(tmp_path / 'm.tif'), tile=64,
                          overlap=64, show_progress=False)


def test_tool_keeps_georeferencing_and_writes_geojson(tiny_checkpoint, tmp_path, monkeypatch,
                                                      capsys):
    height, width = 1100, 1500
    scene = _write_scene(tmp_path / 'scene.tif', np.concatenate(
        [_rgb(height, width), np.full((1, height, width), 7, np.uint8)]))  # 4 bands: RGB + NIR
    out, geojson = str(tmp_path / 'mask.tif'), str(tmp_path / 'mask.geojson')
    # run in this process: a subprocess would spend most of the test importing the stack again
    monkeypatch.setattr(sys, 'argv', [
        'large_scene_infer.py', scene, EXPRESSION, tiny_checkpoint['config'],
        tiny_checkpoint['checkpoint'], '--out', out, '--tile', '512', '--overlap', '128',
        '--geojson', geojson, '--device', 'cpu', '--cfg-options',
        f'model.data_preprocessor.tokenizer={tiny_checkpoint["vocab"]}'])
    runpy.run_path(osp.join(REPO, 'tools', 'large_scene_infer.py'), run_name='__main__')
    assert '12 tiles' in capsys.readouterr().out
    with rasterio.open(scene) as src, rasterio.open(out) as dst:
        assert (dst.count, dst.dtypes[0]) == (1, 'uint8')
        assert dst.crs == src.crs and dst.crs.to_epsg() == 32633
        assert dst.transform == src.transform and dst.shape == src.shape == (height, width)
        mask = dst.read(1)
        bounds = src.bounds
    assert set(np.unique(mask).tolist()) <= {0, 255}
    with open(geojson) as f:
        collection = json.load(f)
    assert collection['crs']['properties']['name'] == 'urn:ogc:def:crs:EPSG::32633'
    assert (len(collection['features']) > 0) == bool(mask.any())
    for feature in collection['features']:
        assert feature['properties']['expression'] == EXPRESSION
        xs, ys = zip(*feature['geometry']['coordinates'][0])
        assert bounds.left <= min(xs) and max(xs) <= bounds.right
        assert bounds.bottom <= min(ys) and max(ys) <= bounds.top


def test_tiles_predicted_empty_are_skipped(tiny_notarget_model, tmp_path, monkeypatch):
    # two tiles: x in [0, 64) and [48, 112), overlapping in [48, 64)
    scene = _write_scene(tmp_path / 'two.tif', _rgb(64, 112))
    out, geojson = str(tmp_path / 'm.tif'), str(tmp_path / 'm.geojson')
    kept = infer_large_scene(tiny_notarget_model, scene, EXPRESSION, out, tile=64, overlap=16,
                             geojson_file=geojson, show_progress=False)
    assert kept['num_tiles'] == 2
    # scores 0.9, then 0.1: the second tile is predicted empty and skipped
    scores = iter([0.9, 0.1])
    monkeypatch.setattr('mmrrsis.apis.large_scene.existence_score', lambda result: next(scores))
    summary = infer_large_scene(tiny_notarget_model, scene, EXPRESSION, out, tile=64,
                                overlap=16, geojson_file=geojson, show_progress=False)
    assert summary['empty_tiles'] == 1
    mask = _read_mask(out)
    first = pred_mask(inference_model(tiny_notarget_model, _bgr(_rgb(64, 112)[:, :, :64]),
                                      EXPRESSION)) * 255
    assert 0 < np.count_nonzero(first)
    np.testing.assert_array_equal(mask[:, :64], first)  # the kept tile decides alone
    assert not mask[:, 64:].any()
    # every tile predicted empty: no mask pixel, no polygon
    monkeypatch.setattr('mmrrsis.apis.large_scene.existence_score', lambda result: 0.0)
    summary = infer_large_scene(tiny_notarget_model, scene, EXPRESSION, out, tile=64,
                                overlap=16, geojson_file=geojson, show_progress=False)
    assert summary['empty_tiles'] == 2 and summary['target_pixels'] == 0
    assert summary['num_polygons'] == 0 and not _read_mask(out).any()
    with open(geojson) as f:
        assert json.load(f)['features'] == []
    # a model without the head (no score) keeps every tile
    monkeypatch.setattr('mmrrsis.apis.large_scene.existence_score', lambda result: None)
    summary = infer_large_scene(tiny_notarget_model, scene, EXPRESSION, out, tile=64,
                                overlap=16, show_progress=False)
    assert summary['empty_tiles'] == 0


def test_target_margin_of_a_sigmoid_head():
    """A 1-output head's seg_logits hold mmseg's sigmoid probabilities: target where p > t."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    result = SegDataSample()
    result.seg_logits = PixelData(data=torch.tensor([[[0.2, 0.5, 0.7]]]))
    np.testing.assert_allclose(target_margin(result, 0.5), [[-0.3, 0.0, 0.2]], atol=1e-7)
    np.testing.assert_allclose(target_margin(result), [[-0.1, 0.2, 0.4]], atol=1e-7)
    result.seg_logits = PixelData(data=torch.tensor([[[1.0, 3.0]], [[2.0, -1.0]]]))
    np.testing.assert_allclose(target_margin(result), [[1.0, -4.0]])
