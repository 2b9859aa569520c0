"""Synthetic aerial scenes: textured ground, clutter and non-overlapping objects.

The image is split into a 3x3 grid; every object stays inside its own cell (band-shaped
objects such as roads take a whole row or column), so objects never overlap and each
object's centroid names a unique position word ("top left", "center", "bottom"...). Every
scene holds 2-4 objects of the target's category plus 1-3 objects of other categories, and
the same-category objects differ in the attribute the expression names (colour, position
or size), so the target can only be found by reading the expression.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .categories import Category, supports
from .expressions import POSITION_WORDS, phrasings
from .scene_objects import Scene, SceneObject
from .shapes import PALETTE, SOIL, WATER, Part, Polygon, blob

MIN_SIZE = 48
# Shares of the attribute an expression is built on; colour is the easiest cue for a small
# model, position and size need spatial reasoning.
ATTRIBUTE_SHARES = {'color': 0.5, 'position': 0.3, 'size': 0.2}
MAX_LAYOUT_TRIES = 50


def _jitter(rng: np.random.Generator, rgb: Sequence[int]) -> Tuple[int, int, int]:
    # A little per-object jitter so that "red" is a range of reds, not one value.
    return tuple(int(c) for c in np.clip(np.asarray(rgb) + rng.uniform(-14, 14, 3), 0, 255))


def _base_rgb(rng: np.random.Generator, spec: Category,
              color: Optional[str]) -> Tuple[int, int, int]:
    return _jitter(rng, PALETTE[color] if color else spec.rgb)


def _transform(poly: Polygon, scale: Sequence[float], angle: float,
               offset: Sequence[float]) -> Polygon:
    c, s = np.cos(angle), np.sin(angle)
    scaled = poly * np.asarray(scale, dtype=np.float64)
    return scaled @ np.array([[c, s], [-s, c]]) + np.asarray(offset, dtype=np.float64)


def _place_in_cell(rng, spec, color, extent, cell_box) -> SceneObject:
    """Renders an object, then rotates, scales and shifts it to lie inside ``cell_box``."""
    parts, context = spec.draw(rng, _base_rgb(rng, spec, color))
    # Near-axis-aligned orientations keep elongated objects large within a square cell.
    angle = np.deg2rad(90 * rng.integers(4) + rng.uniform(-12, 12))
    outline = _transform(np.concatenate([p for p, _ in parts]), (1, 1), angle, (0, 0))
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    x0, y0, x1, y1 = cell_box
    scale = extent * min(x1 - x0, y1 - y0) / (hi - lo).max()
    offset = (rng.uniform(x0 - scale * lo[0], x1 - scale * hi[0]),
              rng.uniform(y0 - scale * lo[1], y1 - scale * hi[1]))

    def place(items):
        return [(_transform(p, (scale, scale), angle, offset), rgb) for p, rgb in items]

    return SceneObject(spec, color, place(parts), place(context))


def _place_band(rng, spec, color, extent, line, vertical, size) -> SceneObject:
    """Renders a band-shaped object across the whole image along grid row/column ``line``.

    ``extent`` is the band's thickness as a fraction of the row (column) height, less the
    one-pixel margins that keep it off its neighbours.
    """
    parts, context = spec.draw(rng, _base_rgb(rng, spec, color))
    cell = size / 3
    thickness = extent * (cell - 2)
    across = rng.uniform(line * cell + 1 + thickness / 2, (line + 1) * cell - 1 - thickness / 2)
    angle = np.pi / 2 if vertical else 0.0
    offset = (across, size / 2) if vertical else (size / 2, across)
    scale = (size + 4, thickness)

    def place(items):
        return [(_transform(p, scale, angle, offset), rgb) for p, rgb in items]

    return SceneObject(spec, color, place(parts), place(context))


def _smooth_noise(rng: np.random.Generator, size: int, grid: int) -> np.ndarray:
    coarse = rng.standard_normal((grid, grid)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR))


def _ground(rng: np.random.Generator, size: int) -> np.ndarray:
    """Earth-toned ground with large- and small-scale brightness variation."""
    base = rng.uniform((108, 100, 84), (150, 140, 120))
    tint = rng.uniform(.8, 1.2, 3)
    return (base + _smooth_noise(rng, size, 4)[..., None] * 14 * tint +
            _smooth_noise(rng, size, max(4, size // 8))[..., None] * 6)


def _choose_colors(rng, spec: Category, n: int) -> List[Optional[str]]:
    if not spec.colors:
        return [None] * n
    # Distinct colours whenever the palette allows, so colour can always tell them apart.
    replace = n > len(spec.colors)
    return [spec.colors[i] for i in rng.choice(len(spec.colors), n, replace=replace)]


def _layout(rng, specs: Sequence[Category], spec: Category, attribute: str,
            size: int) -> Tuple[List[SceneObject], List[Part]]:
    """Places 2-4 objects of category ``spec``, 1-3 distractors and some clutter.

    The same-category objects get distinct colours (when the palette allows) and, for a
    size-based expression, the target a clearly larger or smaller extent than its peers.

    Returns:
        tuple: Objects (target first, then its same-category peers, then the others) and
        unlabelled clutter parts.
    """
    cell = size / 3
    free = [(r, c) for r in range(3) for c in range(3)]
    others = [s for s in specs if s.name != spec.name and not (s.group and s.group == spec.group)]
    cell_others = [s for s in others if not s.band]

    if spec.band:
        n = 2
    else:
        n = int(rng.integers(2, (min(4, len(spec.colors)) if attribute == 'color' else 4) + 1))
    colors = _choose_colors(rng, spec, n)
    if attribute == 'size':
        big_target = rng.random() < .5
        bands = ((.8, .9), (.35, .45))
        cells = ((.92, .97), (.66, .7))
        ranges = bands if spec.band else cells
        target_range, peer_range = ranges if big_target else ranges[::-1]
        extents = [rng.uniform(*target_range)] + [rng.uniform(*peer_range) for _ in range(n - 1)]
    elif spec.band:
        extents = list(rng.uniform(.45, .85, n))
    else:
        extents = list(rng.uniform(*spec.extent, n))

    objects = []
    if spec.band:
        vertical = bool(rng.integers(2))
        lines = sorted(rng.choice(3, 2, replace=False))
        for line, color, extent in zip(lines, colors, extents):
            objects.append(_place_band(rng, spec, color, extent, line, vertical, size))
        free = [rc for rc in free if (rc[1] if vertical else rc[0]) not in lines]
    else:
        band_others = [s for s in others if s.band]
        if band_others and rng.random() < .3:
            # A road (or bridge...) along one row/column: realistic context that also leaves
            # enough cells for the same-category objects.
            band_spec = band_others[rng.integers(len(band_others))]
            vertical, line = bool(rng.integers(2)), int(rng.integers(3))
            band = _place_band(rng, band_spec, _choose_colors(rng, band_spec, 1)[0],
                               rng.uniform(.45, .85), line, vertical, size)
            free = [rc for rc in free if (rc[1] if vertical else rc[0]) != line]
        else:
            band = None
        picked = rng.choice(len(free), n, replace=False)
        for idx, color, extent in zip(picked, colors, extents):
            objects.append(_place_in_cell(rng, spec, color, extent, _cell_box(free[idx], cell)))
        free = [rc for i, rc in enumerate(free) if i not in set(picked.tolist())]
        if band is not None:
            objects.append(band)

    num_distractors = int(rng.integers(1, min(3, len(free)) + 1))
    picked = rng.choice(len(free), len(free), replace=False)
    for idx in picked[:num_distractors]:
        other = cell_others[rng.integers(len(cell_others))]
        objects.append(
            _place_in_cell(rng, other, _choose_colors(rng, other, 1)[0],
                           rng.uniform(*other.extent), _cell_box(free[idx], cell)))
    clutter = []
    for idx in picked[num_distractors:num_distractors + int(rng.integers(0, 3))]:
        x0, y0, x1, y1 = _cell_box(free[idx], cell)
        r = rng.uniform(.25, .45) * (x1 - x0)
        cx, cy = rng.uniform(x0 + r, x1 - r), rng.uniform(y0 + r, y1 - r)
        rgb = WATER if rng.random() < .5 else SOIL
        clutter.append((blob(rng, cx, cy, r, r * rng.uniform(.6, 1), .2), _jitter(rng, rgb)))
    return objects, clutter


def _cell_box(rc: Tuple[int, int], cell: float) -> Tuple[float, float, float, float]:
    # One pixel of margin keeps neighbours in adjacent cells from touching after rasterising.
    r, c = rc
    return c * cell + 1, r * cell + 1, (c + 1) * cell - 1, (r + 1) * cell - 1


def _polygon_xy(poly: Polygon) -> List[float]:
    """Flattens a polygon to the [x0, y0, x1, y1, ...] list PIL's ImageDraw accepts."""
    return poly.ravel().tolist()


def _draw(rng, size: int, objects: List[SceneObject],
          clutter: List[Part]) -> Tuple[np.ndarray, np.ndarray]:
    """Paints the scene and returns the RGB image and a label map (object index + 1, 0 = none).

    Order: ground, clutter, context of every object, shadows, objects. Objects never
    overlap, and nothing is painted after them, so each mask is exactly its object's pixels.
    """
    image = Image.fromarray(np.clip(_ground(rng, size), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for poly, rgb in clutter + [item for obj in objects for item in obj.context]:
        draw.polygon(_polygon_xy(poly), fill=rgb)

    shade = Image.new('L', (size, size), 0)
    shade_draw = ImageDraw.Draw(shade)
    for obj in objects:
        if obj.spec.shadow:
            extent = np.ptp(np.concatenate([p for p, _ in obj.parts]), axis=0).max()
            for poly, _ in obj.parts:
                shade_draw.polygon(_polygon_xy(poly + .08 * extent), fill=1)
    pixels = np.asarray(image).astype(np.float32)
    pixels[np.asarray(shade) > 0] *= .6
    image = Image.fromarray(pixels.astype(np.uint8))

    draw = ImageDraw.Draw(image)
    labels = Image.new('L', (size, size), 0)
    label_draw = ImageDraw.Draw(labels)
    for i, obj in enumerate(objects, start=1):
        for poly, rgb in obj.parts:
            xy = _polygon_xy(poly)
            draw.polygon(xy, fill=rgb)
            label_draw.polygon(xy, fill=i)
    noisy = np.asarray(image).astype(np.float32) + rng.normal(0, 4, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8), np.asarray(labels)


def make_scene(rng, specs: Sequence[Category], size: int,
               attribute: Optional[str] = None) -> Tuple[Scene, str]:
    """Picks the target's attribute (unless given) and category, then lays out and draws a
    scene.

    Shapes with a random aspect or rotation can spoil a planned size difference, so such
    a layout is redrawn until the attribute singles out the target (object 0).

    Returns:
        tuple: The scene and the attribute to describe its target by.
    """
    if attribute is None:
        attributes = list(ATTRIBUTE_SHARES)
        attribute = attributes[rng.choice(len(attributes), p=list(ATTRIBUTE_SHARES.values()))]
    elif attribute not in ATTRIBUTE_SHARES:
        raise ValueError(f'synthetic scene attribute {attribute!r} is not one of '
                         f'{sorted(ATTRIBUTE_SHARES)}')
    candidates = [s for s in specs if supports(s, attribute)]
    spec = candidates[rng.integers(len(candidates))]
    for _ in range(MAX_LAYOUT_TRIES):
        objects, clutter = _layout(rng, specs, spec, attribute, size)
        image, labels = _draw(rng, size, objects, clutter)
        masks = [labels == i for i in range(1, len(objects) + 1)]
        cell = size / 3
        for obj, mask in zip(objects, masks):
            ys, xs = np.nonzero(mask)
            if not len(ys):
                raise RuntimeError(f'synthetic {obj.spec.name} vanished when drawn at size {size}')
            obj.area = int(len(ys))
            row, col = (min(int(v / cell), 2) for v in (ys.mean(), xs.mean()))
            obj.position = POSITION_WORDS[row][col]
        scene = Scene(image, masks, objects)
        if any(a == attribute for a, _ in phrasings(scene, 0)):
            return scene, attribute
    raise RuntimeError(f'no synthetic layout at size {size} made the {attribute} of a {spec.name} '
                       f'single it out in {MAX_LAYOUT_TRIES} tries')
