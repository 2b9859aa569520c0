"""COCO polygons that rasterise back to a pixel mask exactly, and resizing a drawn scene.

A polygon through the pixel corners of a mask's outline (integer coordinates, pixel (y, x)
spanning [x, x + 1] x [y, y + 1]) is filled by pycocotools' ``frPyObjects`` to exactly that
mask, so the polygon files of the REFER-style writers hold the drawn masks pixel for pixel.
"""
from typing import List

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from scipy import ndimage

from .scene_objects import Scene

# Unit steps (dx, dy) of the four outline edge kinds and the pixel offset of each edge's start.
_EDGES = (
    ((-1, 0), (1, 0), (0, 0)),  # top edge, neighbour above empty: (x, y) -> (x + 1, y)
    ((0, 1), (0, 1), (1, 0)),  # right edge: (x + 1, y) -> (x + 1, y + 1)
    ((1, 0), (-1, 0), (1, 1)),  # bottom edge: (x + 1, y + 1) -> (x, y + 1)
    ((0, -1), (0, -1), (0, 1)),  # left edge: (x, y + 1) -> (x, y)
)


def _outline(component: np.ndarray) -> List[float]:
    """The pixel-corner outline of a 4-connected component without holes, flattened."""
    padded = np.pad(component, 1)
    following = {}
    for (ny, nx), (dx, dy), (ox, oy) in _EDGES:
        neighbour = padded[1 + ny:padded.shape[0] - 1 + ny, 1 + nx:padded.shape[1] - 1 + nx]
        for y, x in zip(*np.nonzero(component & ~neighbour)):
            start = (int(x) + ox, int(y) + oy)
            following[start] = (start[0] + dx, start[1] + dy)
    start = min(following)
    points, point = [], start
    while True:
        points.append(point)
        point = following[point]
        if point == start:
            break
    # keep the corners only: drop points whose neighbours lie on one line with them
    corners = [p for i, p in enumerate(points)
               if (points[i - 1][0] - p[0]) * (points[(i + 1) % len(points)][1] - p[1]) !=
               (points[i - 1][1] - p[1]) * (points[(i + 1) % len(points)][0] - p[0])]
    return [float(v) for p in corners for v in p]


def _runs(component: np.ndarray) -> List[List[float]]:
    """One rectangle per horizontal run of pixels: exact for any shape, holes included."""
    polygons = []
    for y in range(component.shape[0]):
        row = np.concatenate([[0], component[y].astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(row))
        for x0, x1 in zip(edges[::2], edges[1::2]):
            polygons.append([float(v) for v in (x0, y, x1, y, x1, y + 1, x0, y + 1)])
    return polygons


def mask_polygons(mask: np.ndarray, pieces: int = 2) -> List[List[float]]:
    """COCO polygons whose union is ``mask`` exactly.

    The mask is cut at its middle row(s) into ``pieces`` bands, as annotators sometimes draw
    one object as several polygons; each 4-connected part of a band becomes one outline
    polygon (a part with a hole one rectangle per pixel run). The result is checked by
    rasterising it with pycocotools.

    Args:
        mask (np.ndarray): (H, W) bool mask, not empty.
        pieces (int): Horizontal bands to cut it into. Defaults to 2.

    Returns:
        list[list[float]]: Flat [x1, y1, x2, y2, ...] polygons in pixel-corner coordinates.
    """
    mask = mask.astype(bool)
    ys = np.flatnonzero(mask.any(axis=1))
    cuts = np.linspace(ys[0], ys[-1] + 1, pieces + 1).round().astype(int)
    polygons = []
    for top, bottom in zip(cuts[:-1], cuts[1:]):
        band = np.zeros_like(mask)
        band[top:bottom] = mask[top:bottom]
        labels, count = ndimage.label(band)
        for i in range(1, count + 1):
            component = labels == i
            if (ndimage.binary_fill_holes(component) != component).any():
                polygons += _runs(component)
            else:
                polygons.append(_outline(component))
    height, width = mask.shape
    drawn = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, height, width)))
    if not np.array_equal(drawn.astype(bool), mask):
        raise RuntimeError('the outline polygons do not rasterise back to their mask')
    return polygons


def resize_scene(scene: Scene, width: int, height: int) -> Scene:
    """The scene at ``width`` x ``height``: image bilinear, masks nearest (upscaling keeps
    objects apart and every mask non-empty); the objects' ``area`` is updated to the new
    masks."""
    if scene.image.shape[:2] == (height, width):
        return scene
    image = np.asarray(Image.fromarray(scene.image).resize((width, height), Image.BILINEAR))
    masks = [np.asarray(Image.fromarray(m.astype(np.uint8)).resize((width, height),
                                                                 Image.NEAREST)) > 0
             for m in scene.masks]
    for obj, mask in zip(scene.objects, masks):
        obj.area = int(mask.sum())
    return Scene(image, masks, scene.objects)
