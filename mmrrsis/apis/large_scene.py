"""Referring segmentation of a whole georeferenced scene, tile by tile (needs ``rasterio``).

One expression is applied to every tile independently; the tiles overlap and their target
logits are blended, so the mask has no seams. The scene is read and the mask written window
by window, so memory does not grow with the scene's height.
"""
import json
import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import ProgressBar
from mmseg.structures import SegDataSample
from torch import nn

from .inference import existence_score, inference_model

MASK_VALUE = 255
# Longest side of the decimated read that 16-bit statistics are computed on.
STATS_SIZE = 1024
# Pixels polygonised at once for GeoJSON; larger masks are polygonised in horizontal strips.
POLYGONIZE_PIXELS = 64 * 1024 * 1024


def _rasterio():
    try:
        import rasterio
    except ImportError:
        raise ImportError('large-scene inference needs rasterio: '
                          'pip install "mmrrsis[geo]" (or pip install rasterio)') from None
    return rasterio


def tile_starts(length: int, tile: int, stride: int) -> List[int]:
    """Offsets of overlapping tiles covering ``[0, length)``.

    Tiles step by ``stride``; the last one is moved back to end at ``length``, so every tile
    is whole (one tile of ``length`` when the scene is shorter than a tile).

    Args:
        length (int): Scene size along the axis.
        tile (int): Tile size.
        stride (int): Step between tiles, ``tile - overlap``.

    Returns:
        list[int]: Increasing offsets, the first 0.
    """
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def blend_window(height: int, width: int, ramp: int) -> np.ndarray:
    """Weights of a tile's logits when overlapping tiles are averaged.

    1 in the middle, falling linearly to nearly 0 over ``ramp`` pixels at each edge, where a
    tile sees least context; in an overlap of ``ramp`` pixels two tiles cross-fade (their
    weights sum to 1). Weights stay positive, so a pixel covered by one tile keeps its label.

    Args:
        height (int): Tile height.
        width (int): Tile width.
        ramp (int): Ramp length (the overlap); 0 gives uniform weights.

    Returns:
        np.ndarray: (height, width) float32 weights in (0, 1].
    """
    def profile(n: int) -> np.ndarray:
        if ramp <= 0:
            return np.ones(n, np.float32)
        i = np.arange(n, dtype=np.float32) + 0.5
        return np.minimum(1.0, np.minimum(i, n - i) / ramp).astype(np.float32)

    return np.outer(profile(height), profile(width))


def target_margin(result: SegDataSample, threshold: Optional[float] = None) -> np.ndarray:
    """How far each pixel is from the target/background decision, as the model decides it.

    2 classes: ``logit_target - logit_background`` (argmax decides target where > 0);
    1 output (sigmoid head): ``p - t`` for the head's threshold ``t``, as mmseg's
    ``postprocess_result`` stores the sigmoid probability ``p`` (not the logit) in
    ``seg_logits`` for such heads and predicts target where ``p > t``.

    Args:
        result (SegDataSample): Result of :func:`inference_model`.
        threshold (float, optional): Sigmoid threshold of a 1-output head; mmseg's 0.3 when
            None. Defaults to None.

    Returns:
        np.ndarray: (H, W) float32; the pixel is target where it is > 0.
    """
    logits = result.seg_logits.data.float().cpu().numpy()
    if logits.shape[0] == 2:
        return logits[1] - logits[0]
    if logits.shape[0] == 1:
        threshold = 0.3 if threshold is None else threshold
        return logits[0] - np.float32(threshold)
    raise ValueError(f'referring segmentation needs 1 or 2 output channels, the model gives '
                     f'{logits.shape[0]}')


def _bands(count: int, path: str) -> Tuple[int, int, int]:
    if count >= 3:
        return 1, 2, 3
    if count == 1:
        return 1, 1, 1
    raise ValueError(f'scene {path} has {count} bands; give 1 (grey) or at least 3 (the first '
                     'three are taken as red, green, blue)')


def _to_uint8(src, bands: Sequence[int],
              percentiles: Tuple[float, float]) -> Callable[[np.ndarray], np.ndarray]:
    """Maps tiles of the scene's data type to uint8, the same way for every tile.

    8-bit scenes pass through. Other types (16-bit, float) are stretched linearly per band
    between the scene's ``percentiles``, read once from a decimated copy (at most
    ``STATS_SIZE`` px on the long side, nodata excluded), and clipped to 0..255. Per-tile
    statistics would make neighbouring tiles differ in brightness, and the model see seams.
    """
    if src.dtypes[0] == 'uint8':
        return lambda tile: tile
    scale = max(1.0, max(src.height, src.width) / STATS_SIZE)
    shape = (len(bands), max(1, round(src.height / scale)), max(1, round(src.width / scale)))
    sample = src.read(list(bands), out_shape=shape).astype(np.float64)
    lows, highs = [], []
    for band in sample:
        values = band[np.isfinite(band)]
        if src.nodata is not None:
            values = values[values != src.nodata]
        low, high = np.percentile(values, percentiles) if values.size else (0.0, 1.0)
        lows.append(low)
        highs.append(high if high > low else low + 1.0)
    low = np.array(lows)[:, None, None]
    gain = 255.0 / (np.array(highs)[:, None, None] - low)
    return lambda tile: np.rint(np.clip((tile - low) * gain, 0, 255)).astype(np.uint8)


def _write_geojson(mask_path: str, geojson_path: str, expression: str) -> int:
    """Polygonises the written mask's target pixels into a GeoJSON FeatureCollection.

    The whole mask is polygonised at once when it has at most ``POLYGONIZE_PIXELS`` pixels;
    larger masks are done in full-width strips of that many pixels, and a region crossing a
    strip border becomes one polygon per strip. Features are streamed to the file.

    Returns:
        int: Number of polygons.
    """
    rasterio = _rasterio()
    from rasterio.features import shapes
    from rasterio.windows import Window
    count = 0
    with rasterio.open(mask_path) as src, open(geojson_path, 'w', encoding='utf-8') as f:
        collection = {'type': 'FeatureCollection'}
        if src.crs is not None:
            epsg = src.crs.to_epsg()
            name = f'urn:ogc:def:crs:EPSG::{epsg}' if epsg else src.crs.to_wkt()
            # RFC 7946 GeoJSON is WGS 84 only; GDAL/QGIS read this older member for others.
            collection['crs'] = {'type': 'name', 'properties': {'name': name}}
        f.write(json.dumps(collection)[:-1] + ', "features": [\n')
        rows = max(1, POLYGONIZE_PIXELS // src.width)
        for y in range(0, src.height, rows):
            window = Window(0, y, src.width, min(rows, src.height - y))
            strip = src.read(1, window=window)
            for geometry, _ in shapes(strip, mask=strip > 0,
                                      transform=src.window_transform(window)):
                feature = {'type': 'Feature', 'geometry': geometry,
                           'properties': {'id': count, 'expression': expression}}
                f.write((',\n' if count else '') + json.dumps(feature))
                count += 1
        f.write('\n]}\n')
    return count


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def infer_large_scene(model: nn.Module,
                      scene: str,
                      expression: str,
                      out_file: str,
                      tile: int = 512,
                      overlap: int = 128,
                      batch_size: int = 4,
                      geojson_file: Optional[str] = None,
                      percentiles: Tuple[float, float] = (2.0, 98.0),
                      show_progress: bool = True) -> dict:
    """Segments what ``expression`` refers to over a whole georeferenced scene.

    The scene is cut into ``tile`` x ``tile`` windows overlapping by ``overlap`` px (the last
    row/column moved back to end at the scene border). Each tile is read on its own with a
    rasterio window and segmented with the same expression by :func:`inference_model`, which
    resizes it to the model's input size (the config's test pipeline) and its logits back.
    Where tiles overlap, the target margins (:func:`target_margin`) are averaged with the
    weights of :func:`blend_window`; a pixel is target where the average is > 0. For a pixel
    inside a single tile this is exactly that tile's prediction.

    A model with an existence head (``ExistenceEncoderDecoder``) also
    says per tile whether the expression's object is in it at all. A tile whose existence
    score is below the head's threshold is predicted empty and skipped: it adds nothing to
    the blend, so it contributes no target pixel to the mask and no polygon to the GeoJSON,
    and where it overlaps kept tiles, those decide alone. Models without the head keep every
    tile.

    Output: a single-band uint8 GeoTIFF (deflate, 256-px blocks) with the scene's size, CRS
    and transform, 255 on the target and 0 elsewhere, written by rows of tiles. Memory holds
    one float32 strip of ``tile`` x scene-width pixels and one batch of tiles, whatever the
    scene's height.

    Bands: the first three are read as red, green, blue (a single band is repeated); 8-bit
    data is used as is, other types are stretched to 8 bits per band between the scene's
    ``percentiles`` (see :func:`_to_uint8`).

    Args:
        model (nn.Module): Segmentor from :func:`mmrrsis.apis.init_model`.
        scene (str): Raster file rasterio can open (GeoTIFF...).
        expression (str): Referring expression, applied to every tile.
        out_file (str): Mask GeoTIFF to write.
        tile (int): Tile size in scene pixels. Defaults to 512.
        overlap (int): Overlap of neighbouring tiles in pixels, < ``tile``. Defaults to 128.
        batch_size (int): Tiles per forward pass. Defaults to 4.
        geojson_file (str, optional): Also write the target regions as polygons in the
            scene's CRS (see :func:`_write_geojson`). Defaults to None.
        percentiles (tuple[float, float]): Stretch limits for non-8-bit scenes.
            Defaults to (2.0, 98.0).
        show_progress (bool): Show a progress bar over the tiles. Defaults to True.

    Returns:
        dict: ``num_tiles``, ``empty_tiles`` (skipped as predicted empty), ``target_pixels``,
        ``seconds`` (tiles and writing) and ``num_polygons`` (None without ``geojson_file``).
    """
    rasterio = _rasterio()
    from rasterio.windows import Window
    if tile < 1 or not 0 <= overlap < tile:
        raise ValueError(f'need tile >= 1 and 0 <= overlap < tile, got tile={tile}, '
                         f'overlap={overlap}')
    start = time.perf_counter()
    with rasterio.open(scene) as src:
        height, width = src.height, src.width
        bands = _bands(src.count, scene)
        to_uint8 = _to_uint8(src, bands, percentiles)
        tile_h, tile_w = min(tile, height), min(tile, width)
        ys = tile_starts(height, tile, tile - overlap)
        xs = tile_starts(width, tile, tile - overlap)
        weights = blend_window(tile_h, tile_w, overlap)
        profile = dict(driver='GTiff', width=width, height=height, count=1, dtype='uint8',
                       crs=src.crs, transform=src.transform, compress='deflate', tiled=True,
                       blockxsize=256, blockysize=256)
        progress = ProgressBar(len(ys) * len(xs)) if show_progress else None
        # Rows [ys[r], ys[r] + tile_h) of the scene: the strip the current tile row adds to.
        strip = np.zeros((tile_h, width), np.float32)
        threshold = getattr(model.decode_head, 'threshold', None)
        existence = getattr(model, 'existence_head', None)
        target_pixels = empty_tiles = 0
        with rasterio.open(out_file, 'w', **profile) as dst:
            for r, y in enumerate(ys):
                for batch in _batches(xs, batch_size):
                    tiles = []
                    for x in batch:
                        rgb = to_uint8(src.read(list(bands), window=Window(x, y, tile_w, tile_h)))
                        tiles.append((np.ascontiguousarray(rgb.transpose(1, 2, 0)[..., ::-1]),
                                      expression))
                    for x, result in zip(batch, inference_model(model, tiles)):
                        score = existence_score(result)
                        if score is not None and score < existence.threshold:
                            empty_tiles += 1
                            continue
                        strip[:, x:x + tile_w] += weights * target_margin(result, threshold)
                    if progress is not None:
                        progress.update(len(batch))
                # Rows above the next tile row get no more contributions: write them.
                done = (ys[r + 1] if r + 1 < len(ys) else height) - y
                mask = np.where(strip[:done] > 0, MASK_VALUE, 0).astype(np.uint8)
                dst.write(mask[None], window=Window(0, y, width, done))
                target_pixels += int(np.count_nonzero(mask))
                strip[:tile_h - done] = strip[done:]
                strip[tile_h - done:] = 0
        if progress is not None:
            progress.file.write('\n')
    num_polygons = _write_geojson(out_file, geojson_file, expression) if geojson_file else None
    return dict(num_tiles=len(ys) * len(xs), empty_tiles=empty_tiles, target_pixels=target_pixels,
                seconds=time.perf_counter() - start, num_polygons=num_polygons)
