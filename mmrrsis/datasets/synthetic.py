"""Synthetic RefSegRS- and RRSIS-D-format data for tests, tiny configs and smoke runs.

Each scene imitates an aerial tile: textured ground, some unlabelled water or bare-soil
patches, and objects drawn from simple polygons (roofs with shading, vehicles with
windows, courts with lines, tanks with rims...). Every image holds 2-4 objects of the
target's category plus 1-3 objects of other categories, and the same-category objects
differ in the attribute the expression names (colour, position or size), so the target can
only be found by reading the expression.

The image is split into a 3x3 grid; every object stays inside its own cell (band-shaped
objects such as roads take a whole row or column), so objects never overlap and each
object's centroid names a unique position word ("top left", "center", "bottom"...).

This module imports only numpy, PIL, tifffile, pycocotools and tokenizers (no torch, no
mmseg), so its logic needs none of the training stack; importing it through the
``mmrrsis.datasets`` package still loads that package's mmseg-based datasets.
"""
import json
import os
import os.path as osp
import pickle
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tifffile
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils
from tokenizers import BertWordPieceTokenizer

REFSEGRS_CATEGORIES = ('road', 'vehicle', 'car', 'van', 'building', 'truck', 'trailer', 'bus',
                       'road marking', 'bikeway', 'sidewalk', 'low vegetation',
                       'impervious surface', 'tree')
RRSISD_CATEGORIES = ('Expressway-Service-area', 'Expressway-toll-station', 'airplane', 'airport',
                     'baseballfield', 'basketballcourt', 'bridge', 'chimney', 'dam', 'golffield',
                     'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
                     'tenniscourt', 'trainstation', 'vehicle', 'windmill')

MIN_SIZE = 48
SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')

# Shares of the attribute an expression is built on; colour is the easiest cue for a small
# model, position and size need spatial reasoning.
ATTRIBUTE_SHARES = {'color': 0.5, 'position': 0.3, 'size': 0.2}
# Share of RefSegRS images given a second, paraphrased line, and of RRSIS-D images given a
# second ref that points at another object of the same category.
SECOND_EXPRESSION_SHARE = 0.3
# One target must be this many times larger (or smaller) in area than every other object
# of its category before "larger"/"smaller" may describe it.
SIZE_RATIO = 1.5
MAX_LAYOUT_TRIES = 50

PALETTE = {
    'red': (200, 45, 40),
    'blue': (40, 80, 200),
    'white': (235, 235, 232),
    'yellow': (232, 200, 45),
    'green': (55, 160, 65),
    'black': (30, 30, 35),
}
ALL_COLORS = tuple(PALETTE)

GLASS = (40, 46, 58)
WATER = (46, 80, 106)
SOIL = (104, 84, 62)
PAINT = (232, 232, 228)
GRASS = (72, 150, 70)

POSITION_WORDS = (('top left', 'top', 'top right'),
                  ('left', 'center', 'right'),
                  ('bottom left', 'bottom', 'bottom right'))
WHERE = {
    'top left': 'at the top left',
    'top': 'at the top',
    'top right': 'at the top right',
    'left': 'on the left',
    'center': 'in the center',
    'right': 'on the right',
    'bottom left': 'at the bottom left',
    'bottom': 'at the bottom',
    'bottom right': 'at the bottom right',
}
TEMPLATES = {
    'color': ('the {color} {category}', '{color} {category}', 'the {category} colored {color}'),
    'position': ('the {category} {where}', '{category} {where}'),
    'size': ('the {size} {category}', '{size} {category}'),
    'color+position': ('the {color} {category} {where}', '{color} {category} {where}'),
}
# Size words by (band-shaped, more than two objects of the category).
SIZE_WORDS = {
    (False, False): ('larger', 'smaller'),
    (False, True): ('largest', 'smallest'),
    (True, False): ('wider', 'narrower'),
    (True, True): ('widest', 'narrowest'),
}

Polygon = np.ndarray  # (K, 2) float x, y
Part = Tuple[Polygon, Tuple[int, int, int]]


# --------------------------------------------------------------------------- shapes
def _rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 36,
             start: float = 0.0, stop: float = 2 * np.pi) -> Polygon:
    t = np.linspace(start, stop, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _blob(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float,
          wobble: float = 0.12) -> Polygon:
    """An irregular closed outline: an ellipse whose radius varies with a few harmonics."""
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    radius = np.ones_like(t)
    for k in (2, 3, 5):
        radius += rng.uniform(0, wobble) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    radius /= radius.max()
    return np.stack([cx + rx * radius * np.cos(t), cy + ry * radius * np.sin(t)], axis=1)


def _stadium_shape(half_w: float, half_h: float) -> Polygon:
    """A rectangle with semicircular ends, the outline of a running track."""
    r = half_h
    right = _ellipse(half_w - r, 0, r, r, 18, -np.pi / 2, np.pi / 2 + 1e-9)
    left = _ellipse(-half_w + r, 0, r, r, 18, np.pi / 2, 3 * np.pi / 2 + 1e-9)
    return np.concatenate([right, left])


def _mirror_y(poly: Polygon) -> Polygon:
    return poly * np.array([1.0, -1.0])


def _shade(rgb: Sequence[float], factor: float) -> Tuple[int, int, int]:
    return tuple(min(255, int(c * factor)) for c in rgb)


# ------------------------------------------------------------------------ renderers
# A renderer draws one object in its own frame (long axis along x, roughly inside
# [-0.5, 0.5]^2; band renderers: x along the band, y across it) and returns the object's
# parts, which make up its mask, and context parts (water under a ship, a river under a
# bridge) that are drawn underneath every object and belong to no mask.
def _car(rng, rgb):
    return [(_rect(-.5, -.3, .5, .3), rgb), (_rect(.12, -.24, .3, .24), GLASS),
            (_rect(-.42, -.22, -.3, .22), GLASS),
            (_rect(-.26, -.22, .08, .22), _shade(rgb, 1.1))], []


def _van(rng, rgb):
    return [(_rect(-.5, -.32, .5, .32), rgb), (_rect(-.45, -.26, .26, .26), _shade(rgb, 1.08)),
            (_rect(.3, -.27, .42, .27), GLASS)], []


def _truck(rng, rgb):
    return [(_rect(-.5, -.32, .18, .32), _shade(rgb, 1.1)), (_rect(.18, -.1, .22, .1), GLASS),
            (_rect(.22, -.28, .5, .28), rgb), (_rect(.4, -.22, .47, .22), GLASS)], []


def _trailer(rng, rgb):
    parts = [(_rect(-.5, -.26, .44, .26), rgb), (_rect(.44, -.05, .5, .05), GLASS)]
    parts += [(_rect(x, -.26, x + .025, .26), _shade(rgb, .75)) for x in np.arange(-.38, .4, .13)]
    return parts, []


def _bus(rng, rgb):
    return [(_rect(-.5, -.28, .5, .28), rgb), (_rect(.42, -.24, .48, .24), GLASS),
            (_rect(-.25, -.12, -.05, .12), (215, 215, 215)),
            (_rect(.08, -.12, .24, .12), (215, 215, 215))], []


def _any_vehicle(rng, rgb):
    return (_car, _van, _truck)[rng.integers(3)](rng, rgb)


def _building(rng, rgb):
    h = rng.uniform(.34, .46)
    return [(_rect(-.5, -h, .5, 0), _shade(rgb, 1.1)), (_rect(-.5, 0, .5, h), _shade(rgb, .8)),
            (_rect(-.5, -.015, .5, .015), _shade(rgb, .6))], []


def _road_marking(rng, rgb):
    return [(_rect(-.5 + i * .27, -.45, -.32 + i * .27, .45), rgb) for i in range(4)], []


def _low_vegetation(rng, rgb):
    parts = [(_blob(rng, 0, 0, .5, .42), rgb)]
    for _ in range(5):
        cx, cy = rng.uniform(-.25, .25, 2)
        r = rng.uniform(.05, .1)
        parts.append((_blob(rng, cx, cy, r, r), _shade(rgb, rng.choice([.8, 1.15]))))
    return parts, []


def _impervious(rng, rgb):
    parts = [(_rect(-.5, -.4, .5, .4), rgb)]
    for _ in range(3):
        cx, cy = rng.uniform(-.3, .3), rng.uniform(-.2, .2)
        parts.append((_blob(rng, cx, cy, .12, .08), _shade(rgb, .88)))
    return parts, []


def _tree(rng, rgb):
    parts = [(_ellipse(0, 0, .34, .34), rgb)]
    for a in np.linspace(0, 2 * np.pi, 5, endpoint=False) + rng.uniform(0, 1):
        lobe = _ellipse(.3 * np.cos(a), .3 * np.sin(a), .17, .17, 18)
        parts.append((lobe, _shade(rgb, rng.uniform(.9, 1.1))))
    parts.append((_ellipse(-.1, -.1, .14, .14, 18), _shade(rgb, 1.3)))
    return parts, []


def _road(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb), (_rect(-.5, -.44, .5, -.38), PAINT),
             (_rect(-.5, .38, .5, .44), PAINT)]
    parts += [(_rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    return parts, []


def _bikeway(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb)]
    parts += [(_rect(x, -.06, x + .02, .06), PAINT) for x in np.arange(-.5, .5, .05)]
    return parts, []


def _sidewalk(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb)]
    parts += [(_rect(x, -.5, x + .006, .5), _shade(rgb, .8)) for x in np.arange(-.5, .5, .04)]
    return parts, []


def _service_area(rng, rgb):
    parts = [(_rect(-.5, -.38, .5, .38), rgb), (_rect(.16, -.3, .46, .3), (200, 190, 170)),
             (_rect(.16, 0, .46, .3), (170, 160, 142))]
    for x in np.arange(-.42, .1, .07):
        parts += [(_rect(x, -.3, x + .015, -.1), PAINT), (_rect(x, .1, x + .015, .3), PAINT)]
    return parts, []


def _toll_station(rng, rgb):
    parts = [(_rect(-.5, -.35, .5, .35), rgb)]
    for y in (-.175, 0, .175):
        parts += [(_rect(x, y - .012, x + .05, y + .012), PAINT) for x in np.arange(-.5, .45, .1)]
    parts += [(_rect(-.12, -.42, .12, .42), (214, 214, 220)),
              (_rect(-.12, -.42, .12, -.38), (150, 40, 40))]
    return parts, []


def _airplane(rng, rgb):
    fuselage = np.array([[-.5, -.07], [.38, -.09], [.5, 0], [.38, .09], [-.5, .07]])
    wing = np.array([[.22, -.08], [-.14, -.5], [-.32, -.5], [-.18, -.08]])
    tail = np.array([[-.34, -.06], [-.46, -.22], [-.54, -.22], [-.5, -.06]])
    engine = _rect(-.02, -.3, .08, -.24)
    return [(wing, _shade(rgb, .92)), (_mirror_y(wing), _shade(rgb, .92)), (tail, rgb),
            (_mirror_y(tail), rgb), (fuselage, rgb), (engine, GLASS),
            (_mirror_y(engine), GLASS)], []


def _airport(rng, rgb):
    parts = [(_rect(-.5, -.36, .5, .36), rgb), (_rect(-.5, -.12, .5, .08), (62, 62, 66)),
             (_rect(-.32, .18, .22, .33), (205, 205, 210))]
    parts += [(_rect(x, -.03, x + .05, -.01), PAINT) for x in np.arange(-.45, .45, .1)]
    return parts, []


def _baseball_field(rng, rgb):
    outfield = np.concatenate([[[0, 0]], _ellipse(0, 0, 1, 1, 24, 0, np.pi / 2 + 1e-9)]) - .5
    return [(outfield, rgb), (_rect(0, 0, .34, .34) - .5, (186, 136, 86)),
            (_rect(.06, .06, .26, .26) - .5, _shade(rgb, 1.1))], []


def _court(rng, rgb, tennis: bool):
    w = .025
    parts = [(_rect(-.5, -.34, .5, .34), _shade(rgb, .8)), (_rect(-.42, -.26, .42, .26), rgb)]
    lines = [_rect(-.42, -.26, .42, -.26 + w), _rect(-.42, .26 - w, .42, .26),
             _rect(-.42, -.26, -.42 + w, .26), _rect(.42 - w, -.26, .42, .26),
             _rect(-w / 2, -.26, w / 2, .26)]
    if tennis:
        lines += [_rect(-.22, -.18, .22, -.18 + w), _rect(-.22, .18 - w, .22, .18),
                  _rect(-.22, -.18, -.22 + w, .18), _rect(.22 - w, -.18, .22, .18)]
    else:
        lines += [_ellipse(0, 0, .1, .1, 24), _rect(-.42, -.08, -.28, .08),
                  _rect(.28, -.08, .42, .08)]
    return parts + [(line, PAINT) for line in lines], []


def _basketball_court(rng, rgb):
    return _court(rng, rgb, tennis=False)


def _tennis_court(rng, rgb):
    return _court(rng, rgb, tennis=True)


def _bridge(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb), (_rect(-.5, -.5, .5, -.38), _shade(rgb, .7)),
             (_rect(-.5, .38, .5, .5), _shade(rgb, .7))]
    parts += [(_rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    river = _rect(-.16, -2.4, .16, 2.4)
    return parts, [(river, WATER)]


def _chimney(rng, rgb):
    return [(_ellipse(0, 0, .5, .5), rgb), (_ellipse(0, 0, .36, .36), (176, 62, 52)),
            (_ellipse(0, 0, .24, .24), _shade(rgb, 1.1)),
            (_ellipse(0, 0, .14, .14), (28, 28, 30))], []


def _dam(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb)]
    parts += [(_rect(x, -.5, x + .015, .5), _shade(rgb, .75)) for x in np.arange(-.4, .4, .08)]
    return parts, [(_rect(-.5, -1.5, .5, -.5), WATER)]


def _golf_field(rng, rgb):
    parts = [(_blob(rng, 0, 0, .5, .45), rgb), (_blob(rng, 0, 0, .34, .14), _shade(rgb, 1.2)),
             (_ellipse(.3, 0, .07, .07, 18), _shade(rgb, 1.35))]
    for _ in range(2):
        cx, cy = rng.uniform(-.3, .2), rng.uniform(-.25, .25)
        parts.append((_blob(rng, cx, cy, .07, .05), (222, 210, 160)))
    return parts, []


def _ground_track_field(rng, rgb):
    return [(_stadium_shape(.5, .32), rgb), (_stadium_shape(.4, .22), GRASS),
            (_rect(-.005, -.22, .005, .22), PAINT)], []


def _harbor(rng, rgb):
    parts = [(_rect(-.5, .3, .5, .5), rgb)]
    parts += [(_rect(x - .09, -.45, x + .09, .3), rgb) for x in (-.39, -.13, .13, .39)]
    return parts, [(_rect(-.56, -.56, .56, .5), WATER)]


def _overpass(rng, rgb):
    parts = [(_rect(-.5, -.5, .5, .5), rgb), (_rect(-.5, -.5, .5, -.42), _shade(rgb, .75)),
             (_rect(-.5, .42, .5, .5), _shade(rgb, .75))]
    parts += [(_rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    return parts, [(_rect(-.5, .5, .5, .8), (58, 58, 60))]


def _ship(rng, rgb):
    hull = np.array([[-.5, -.24], [.24, -.24], [.5, 0], [.24, .24], [-.5, .24]])
    return [(hull, rgb), (_rect(-.42, -.12, -.12, .12), _shade(rgb, .75)),
            (_rect(-.08, -.06, .2, .06), (210, 210, 210))], [(_rect(-.62, -.5, .62, .5), WATER)]


def _stadium(rng, rgb):
    # A thick roof ring around dark stands and a rectangular pitch, unlike the oval
    # infield of a ground track field.
    return [(_ellipse(0, 0, .5, .42), rgb), (_ellipse(0, 0, .36, .28), (70, 66, 64)),
            (_rect(-.22, -.14, .22, .14), GRASS), (_rect(-.006, -.14, .006, .14), PAINT)], []


def _storage_tank(rng, rgb):
    return [(_ellipse(0, 0, .5, .5, 40), _shade(rgb, .82)), (_ellipse(0, 0, .43, .43, 40), rgb),
            (_ellipse(0, 0, .08, .08, 18), _shade(rgb, .7))], []


def _train_station(rng, rgb):
    parts = [(_rect(-.5, -.38, .5, .38), (72, 66, 60)), (_rect(-.5, -.18, .5, .18), rgb),
             (_rect(-.5, -.38, .5, -.28), (178, 176, 170)),
             (_rect(-.5, .28, .5, .38), (178, 176, 170))]
    parts += [(_rect(x, -.18, x + .01, .18), _shade(rgb, .8)) for x in np.arange(-.45, .45, .09)]
    return parts, []


def _windmill(rng, rgb):
    blade = np.array([[.06, -.14], [.5, -.05], [.5, .05], [.06, .1]])
    parts = []
    for a in np.deg2rad([90, 210, 330]):
        c, s = np.cos(a), np.sin(a)
        parts.append((blade @ np.array([[c, s], [-s, c]]), rgb))
    return parts + [(_ellipse(0, 0, .15, .15, 24), _shade(rgb, .85))], []


class _Category(NamedTuple):
    """How one category looks and which expressions it allows.

    ``colors`` lists the palette names an object may take (then its colour can be named);
    otherwise ``rgb`` is its fixed natural colour. ``band`` objects span the whole image
    along one grid row or column. ``extent`` is the range of the object's longer bounding
    box side as a fraction of a grid cell, used when the expression is not size-based.
    """
    name: str
    draw: Callable
    rgb: Optional[Tuple[int, int, int]] = None
    colors: Tuple[str, ...] = ()
    sizeable: bool = False
    band: bool = False
    shadow: bool = False
    extent: Tuple[float, float] = (.76, .94)
    group: str = ''


LONG = (.84, .96)  # elongated shapes need the whole cell to keep a useful area
VEHICLE_GROUP = 'vehicle'  # categories that name the same kind of thing never share a scene

REFSEGRS_SPECS = (
    _Category('road', _road, rgb=(70, 72, 76), sizeable=True, band=True),
    _Category('vehicle', _any_vehicle, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('car', _car, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('van', _van, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('building', _building, colors=ALL_COLORS, sizeable=True, shadow=True),
    _Category('truck', _truck, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('trailer', _trailer, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('bus', _bus, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    _Category('road marking', _road_marking, colors=('white', 'yellow'), extent=LONG),
    _Category('bikeway', _bikeway, colors=('red', 'green', 'blue'), sizeable=True, band=True),
    _Category('sidewalk', _sidewalk, rgb=(180, 174, 162), sizeable=True, band=True),
    _Category('low vegetation', _low_vegetation, rgb=(118, 168, 82), sizeable=True),
    _Category('impervious surface', _impervious, rgb=(154, 154, 152), sizeable=True),
    _Category('tree', _tree, rgb=(40, 96, 46), sizeable=True, shadow=True),
)
RRSISD_SPECS = (
    _Category('expressway service area', _service_area, rgb=(118, 118, 122), sizeable=True),
    _Category('expressway toll station', _toll_station, rgb=(84, 84, 90), sizeable=True),
    _Category('airplane', _airplane, colors=ALL_COLORS, shadow=True, extent=LONG),
    _Category('airport', _airport, rgb=(172, 170, 165), sizeable=True),
    _Category('baseball field', _baseball_field, rgb=(84, 150, 70), sizeable=True),
    _Category('basketball court', _basketball_court, colors=('blue', 'green', 'red', 'yellow'),
              extent=LONG),
    _Category('bridge', _bridge, rgb=(168, 166, 160), sizeable=True, band=True),
    _Category('chimney', _chimney, rgb=(150, 148, 145), sizeable=True, shadow=True),
    _Category('dam', _dam, rgb=(190, 185, 174), sizeable=True, band=True),
    _Category('golf field', _golf_field, rgb=(92, 172, 80), sizeable=True),
    _Category('ground track field', _ground_track_field, colors=('red', 'blue'), extent=LONG),
    _Category('harbor', _harbor, rgb=(164, 160, 152), sizeable=True),
    _Category('overpass', _overpass, rgb=(134, 134, 140), sizeable=True, band=True),
    _Category('ship', _ship, colors=('white', 'red', 'yellow', 'green', 'blue'), extent=LONG),
    _Category('stadium', _stadium, colors=('red', 'blue', 'white'), sizeable=True, shadow=True),
    _Category('storage tank', _storage_tank, colors=('white', 'blue', 'green', 'red', 'yellow'),
              sizeable=True, shadow=True),
    _Category('tennis court', _tennis_court, colors=('green', 'blue', 'red'), extent=LONG),
    _Category('train station', _train_station, rgb=(140, 140, 146), sizeable=True),
    _Category('vehicle', _any_vehicle, colors=ALL_COLORS, extent=LONG),
    _Category('windmill', _windmill, rgb=(228, 228, 225), shadow=True, extent=LONG),
)


# --------------------------------------------------------------------------- scenes
class _Object:
    """One drawn object: its category, colour name and image-space polygons."""

    def __init__(self, spec: _Category, color: Optional[str], parts: List[Part],
                 context: List[Part]) -> None:
        self.spec = spec
        self.color = color
        self.parts = parts
        self.context = context
        self.area = 0
        self.position = ''


def _supports(spec: _Category, attribute: str) -> bool:
    if attribute == 'color':
        return len(spec.colors) >= 2
    if attribute == 'size':
        return spec.sizeable
    return True


def _jitter(rng: np.random.Generator, rgb: Sequence[int]) -> Tuple[int, int, int]:
    # A little per-object jitter so that "red" is a range of reds, not one value.
    return tuple(int(c) for c in np.clip(np.asarray(rgb) + rng.uniform(-14, 14, 3), 0, 255))


def _base_rgb(rng: np.random.Generator, spec: _Category,
              color: Optional[str]) -> Tuple[int, int, int]:
    return _jitter(rng, PALETTE[color] if color else spec.rgb)


def _transform(poly: Polygon, scale: Sequence[float], angle: float,
               offset: Sequence[float]) -> Polygon:
    c, s = np.cos(angle), np.sin(angle)
    scaled = poly * np.asarray(scale, dtype=np.float64)
    return scaled @ np.array([[c, s], [-s, c]]) + np.asarray(offset, dtype=np.float64)


def _place_in_cell(rng, spec, color, extent, cell_box) -> _Object:
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

    return _Object(spec, color, place(parts), place(context))


def _place_band(rng, spec, color, extent, line, vertical, size) -> _Object:
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

    return _Object(spec, color, place(parts), place(context))


def _smooth_noise(rng: np.random.Generator, size: int, grid: int) -> np.ndarray:
    coarse = rng.standard_normal((grid, grid)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR))


def _ground(rng: np.random.Generator, size: int) -> np.ndarray:
    """Earth-toned ground with large- and small-scale brightness variation."""
    base = rng.uniform((108, 100, 84), (150, 140, 120))
    tint = rng.uniform(.8, 1.2, 3)
    return (base + _smooth_noise(rng, size, 4)[..., None] * 14 * tint +
            _smooth_noise(rng, size, max(4, size // 8))[..., None] * 6)


def _choose_colors(rng, spec: _Category, n: int) -> List[Optional[str]]:
    if not spec.colors:
        return [None] * n
    # Distinct colours whenever the palette allows, so colour can always tell them apart.
    replace = n > len(spec.colors)
    return [spec.colors[i] for i in rng.choice(len(spec.colors), n, replace=replace)]


def _layout(rng, specs: Sequence[_Category], spec: _Category, attribute: str,
            size: int) -> Tuple[List[_Object], List[Part]]:
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
        clutter.append((_blob(rng, cx, cy, r, r * rng.uniform(.6, 1), .2), _jitter(rng, rgb)))
    return objects, clutter


def _cell_box(rc: Tuple[int, int], cell: float) -> Tuple[float, float, float, float]:
    # One pixel of margin keeps neighbours in adjacent cells from touching after rasterising.
    r, c = rc
    return c * cell + 1, r * cell + 1, (c + 1) * cell - 1, (r + 1) * cell - 1


def _polygon_xy(poly: Polygon) -> List[float]:
    """Flattens a polygon to the [x0, y0, x1, y1, ...] list PIL's ImageDraw accepts."""
    return poly.ravel().tolist()


def _draw(rng, size: int, objects: List[_Object],
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


class _Scene(NamedTuple):
    image: np.ndarray  # (size, size, 3) uint8
    masks: List[np.ndarray]  # one (size, size) bool mask per object
    objects: List[_Object]


def _unique_attributes(target: _Object, peers: List[_Object], band: bool) -> Dict[str, str]:
    """The attribute values that single the target out among its same-category peers."""
    n_many = len(peers) >= 2
    found = {}
    if target.color and all(p.color != target.color for p in peers):
        found['color'] = target.color
    if all(p.position != target.position for p in peers):
        found['position'] = target.position
    larger, smaller = SIZE_WORDS[(band, n_many)]
    if target.area >= SIZE_RATIO * max(p.area for p in peers):
        found['size'] = larger
    elif target.area * SIZE_RATIO <= min(p.area for p in peers):
        found['size'] = smaller
    if 'color' in found and 'position' in found:
        found['color+position'] = ''
    return found


def _phrasings(scene: _Scene, index: int) -> List[Tuple[str, str]]:
    """All (attribute, expression) pairs that single out ``scene.objects[index]``."""
    target = scene.objects[index]
    peers = [o for i, o in enumerate(scene.objects)
             if i != index and o.spec.name == target.spec.name]
    values = _unique_attributes(target, peers, target.spec.band)
    fields = dict(category=target.spec.name, color=values.get('color', ''),
                  where=WHERE.get(values.get('position', ''), ''), size=values.get('size', ''))
    return [(attribute, template.format(**fields))
            for attribute in values for template in TEMPLATES[attribute]]


def _make_scene(rng, specs: Sequence[_Category], size: int) -> Tuple[_Scene, str]:
    """Picks the target's attribute and category, then lays out and draws a scene.

    Shapes with a random aspect or rotation can spoil a planned size difference, so such
    a layout is redrawn until the attribute singles out the target (object 0).

    Returns:
        tuple: The scene and the attribute to describe its target by.
    """
    attributes = list(ATTRIBUTE_SHARES)
    attribute = attributes[rng.choice(len(attributes), p=list(ATTRIBUTE_SHARES.values()))]
    candidates = [s for s in specs if _supports(s, attribute)]
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
        scene = _Scene(image, masks, objects)
        if any(a == attribute for a, _ in _phrasings(scene, 0)):
            return scene, attribute
    raise RuntimeError(f'no synthetic layout at size {size} made the {attribute} of a {spec.name} '
                       f'single it out in {MAX_LAYOUT_TRIES} tries')


def _describe(rng, scene: _Scene, index: int, attribute: Optional[str] = None,
              avoid: Iterable[str] = ()) -> Tuple[str, str]:
    """Picks an expression that singles out ``scene.objects[index]``.

    Args:
        rng (np.random.Generator): Random source.
        scene (_Scene): The drawn scene.
        index (int): Index of the target in ``scene.objects``.
        attribute (str, optional): Attribute to build the expression on; None picks any
            attribute that singles the target out. Defaults to None.
        avoid (Iterable[str]): Expressions already used for this target; another wording
            is chosen when one exists. Defaults to ().

    Returns:
        tuple: The attribute and the expression.
    """
    options = _phrasings(scene, index)
    if attribute is not None:
        options = [o for o in options if o[0] == attribute]
    avoid = set(avoid)
    options = [o for o in options if o[1] not in avoid] or options
    return options[rng.integers(len(options))]


# -------------------------------------------------------------------------- writers
SPLITS = ('train', 'val', 'test')


def _check_args(num_images: int, size: int, split_ratios: Sequence[float]) -> None:
    if num_images < 1:
        raise ValueError(f'num_images must be at least 1, got {num_images}')
    if size < MIN_SIZE:
        raise ValueError(f'size must be at least {MIN_SIZE} px for the objects to stay drawable, '
                         f'got {size}')
    if len(split_ratios) != len(SPLITS) or min(split_ratios) < 0 or sum(split_ratios) <= 0:
        raise ValueError(f'split_ratios must be three non-negative numbers (train, val, test) '
                         f'with a positive sum, got {tuple(split_ratios)}')


def _assign_splits(num_images: int, split_ratios: Sequence[float]) -> List[str]:
    """Splits image indices in order: the first share is train, then val, then test."""
    raw = np.asarray(split_ratios, dtype=np.float64) / sum(split_ratios) * num_images
    counts = np.floor(raw).astype(int)
    for i in np.argsort(counts - raw, kind='stable')[:num_images - counts.sum()]:
        counts[i] += 1
    # A split that was asked for should not come out empty when there are enough images.
    for i in range(len(SPLITS)):
        if split_ratios[i] > 0 and counts[i] == 0 and counts.max() > 1:
            counts[counts.argmax()] -= 1
            counts[i] += 1
    return [split for split, count in zip(SPLITS, counts) for _ in range(count)]


def _template_text(specs: Sequence[_Category]) -> str:
    """Every word an expression of this dataset can contain, for the tokenizer vocabulary."""
    words = {w for spec in specs for w in spec.name.split()}
    words |= set(PALETTE) | {w for phrase in WHERE.values() for w in phrase.split()}
    words |= {w for pair in SIZE_WORDS.values() for w in pair}
    words |= {w for group in TEMPLATES.values() for t in group for w in t.split() if '{' not in w}
    return ' '.join(sorted(words))


def _object_record(obj: _Object) -> dict:
    return dict(category=obj.spec.name, color=obj.color, position=obj.position, area=obj.area)


def _target_record(scene: _Scene, index: int, attribute: str, expression: str) -> dict:
    name = scene.objects[index].spec.name
    return dict(object=index, attribute=attribute, expression=expression,
                same_category_count=sum(o.spec.name == name for o in scene.objects))


def _summary(dataset: str, out_dir: str, size: int, specs: Sequence[_Category],
             images: List[dict], samples: Dict[str, int], odd_size_images: List[str],
             vocab_file: str) -> dict:
    attributes = {a: 0 for a in TEMPLATES}
    for record in images:
        for target in record['targets']:
            attributes[target['attribute']] += 1
    return dict(dataset=dataset, out_dir=out_dir, size=size, num_images=len(images),
                samples=samples, categories=[spec.name for spec in specs],
                attributes=attributes, odd_size_images=odd_size_images, vocab_file=vocab_file,
                images=images)


def build_vocab(expressions: Iterable[str], out_dir: str, vocab_size: int = 1000) -> str:
    """Trains a lower-case BERT WordPiece vocabulary on the given expressions.

    Offline tests and tiny configs use it in place of a downloaded ``bert-base-uncased``
    vocabulary, so every word of the synthetic expressions is a known token.

    The trainer breaks ties between equally frequent merges in hash-map order, which
    changes from one process to the next, so the intermediate pieces it keeps (``righ``
    or ``##ght``) vary between runs. Only its single characters and whole words are
    kept, in sorted order, which makes the file the same on every run.

    Args:
        expressions (Iterable[str]): Training text, one expression each.
        out_dir (str): Folder to write ``vocab.txt`` into (created when missing).
        vocab_size (int): Upper bound on the trained vocabulary; the written file is
            smaller. Defaults to 1000.

    Returns:
        str: Path of the written ``vocab.txt``: ``[PAD]`` (id 0), ``[UNK]``, ``[CLS]``,
        ``[SEP]``, ``[MASK]``, then characters, ``##`` characters and whole words.

    Raises:
        ValueError: When ``vocab_size`` is too small for every word to become a token.
    """
    texts = list(expressions)
    tokenizer = BertWordPieceTokenizer(lowercase=True)
    tokenizer.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=1, special_tokens=list(SPECIAL_TOKENS),
        show_progress=False)
    trained = set(tokenizer.get_vocab())
    pre_tokenize = tokenizer.pre_tokenizer.pre_tokenize_str
    words = {word for text in texts
             for word, _ in pre_tokenize(tokenizer.normalizer.normalize_str(text))}
    missing = sorted(words - trained)
    if missing:
        raise ValueError(f'vocab_size={vocab_size} is too small: {len(missing)} words of the '
                         f'expressions (e.g. {missing[:5]}) did not become whole tokens')
    chars = sorted(t for t in trained if len(t) == 1 and t not in words)
    suffixes = sorted(t for t in trained if t.startswith('##') and len(t) == 3)
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, 'vocab.txt')
    with open(path, 'w', encoding='utf-8') as f:
        tokens = list(SPECIAL_TOKENS) + chars + suffixes + sorted(words)
        f.writelines(token + '\n' for token in tokens)
    return path


def make_refsegrs(out_dir: str,
                  num_images: int,
                  seed: int = 0,
                  size: int = 512,
                  split_ratios: Sequence[float] = (0.6, 0.2, 0.2)) -> dict:
    """Writes a synthetic dataset in the RefSegRS layout.

    Files: ``images/<id>.tif`` (RGB), ``masks/<id>.tif`` (0/255), ``output_phrase_<split>.txt``
    ("<id> <expression>" lines; about 30% of the ids get a second line that rewords the
    same target, since one id has one mask) and ``bert_vocab/vocab.txt``. Ids run from 0.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Image side in pixels, at least 48. Defaults to 512.
        split_ratios (Sequence[float]): Train/val/test shares of the images.
            Defaults to (0.6, 0.2, 0.2).

    Returns:
        dict: Summary with ``samples`` (expressions per split), ``categories``,
        ``attributes`` (expressions per attribute type), ``odd_size_images`` (empty here),
        ``vocab_file`` and ``images``: per image its ``objects`` (category, color, position,
        area) and ``targets`` (expression, attribute, ``same_category_count``).
    """
    _check_args(num_images, size, split_ratios)
    rng = np.random.default_rng(seed)
    for folder in ('images', 'masks'):
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    lines = {split: [] for split in SPLITS}
    records = []
    for img_id, split in enumerate(_assign_splits(num_images, split_ratios)):
        scene, attribute = _make_scene(rng, REFSEGRS_SPECS, size)
        described = [_describe(rng, scene, 0, attribute)]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            described.append(_describe(rng, scene, 0, avoid=[described[0][1]]))
        tifffile.imwrite(osp.join(out_dir, 'images', f'{img_id}.tif'), scene.image,
                         photometric='rgb')
        tifffile.imwrite(osp.join(out_dir, 'masks', f'{img_id}.tif'),
                         scene.masks[0].astype(np.uint8) * 255, photometric='minisblack')
        lines[split] += [f'{img_id} {expression}' for _, expression in described]
        records.append(dict(
            id=img_id, split=split, file=f'images/{img_id}.tif',
            objects=[_object_record(o) for o in scene.objects],
            targets=[_target_record(scene, 0, a, e) for a, e in described]))
    for split in SPLITS:
        with open(osp.join(out_dir, f'output_phrase_{split}.txt'), 'w', encoding='utf-8') as f:
            f.writelines(line + '\n' for line in lines[split])
    expressions = [t['expression'] for r in records for t in r['targets']]
    vocab_file = build_vocab(expressions + [_template_text(REFSEGRS_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    return _summary('refsegrs', out_dir, size, REFSEGRS_SPECS, records,
                    {split: len(lines[split]) for split in SPLITS}, [], vocab_file)


def make_rrsisd(out_dir: str,
                num_images: int,
                seed: int = 0,
                size: int = 800,
                split_ratios: Sequence[float] = (0.6, 0.2, 0.2)) -> dict:
    """Writes a synthetic dataset in the RRSIS-D layout.

    Files: ``rrsisd/refs(unc).p``, ``rrsisd/instances.json`` (note the ``categories_id``
    key and the list-of-one-RLE segmentation of the real file),
    ``images/rrsisd/JPEGImages/<id:05d>.jpg`` and ``bert_vocab/vocab.txt``. Image, annotation,
    ref and sentence ids run from 1; one ref per annotation, one sentence per ref, and about
    30% of the images get a second ref for another object of the target's category.

    About one image in 15 (at least 2 when ``num_images >= 10``, else 1 from 2 images on)
    reproduces the real data's size defect: its JPEG is ``size`` wide and ``size + 1``
    (or ``size - 13``) tall, resized from the rendered scene, while its RLE keeps
    ``[size, size]``; ``instances.json`` records the true JPEG height and width.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Rendered image side in pixels, at least 48. Defaults to 800.
        split_ratios (Sequence[float]): Train/val/test shares of the images.
            Defaults to (0.6, 0.2, 0.2).

    Returns:
        dict: Summary as for :func:`make_refsegrs`; ``samples`` counts sentences and
        ``odd_size_images`` lists the odd-size JPEGs relative to ``out_dir``.
    """
    _check_args(num_images, size, split_ratios)
    rng = np.random.default_rng(seed)
    ann_dir = osp.join(out_dir, 'rrsisd')
    img_dir = osp.join(out_dir, 'images', 'rrsisd', 'JPEGImages')
    for folder in (ann_dir, img_dir):
        os.makedirs(folder, exist_ok=True)
    num_odd = max(2, round(num_images / 15)) if num_images >= 10 else int(num_images >= 2)
    odd_heights = {int(i): (size + 1, size - 13)[k % 2]
                   for k, i in enumerate(sorted(rng.choice(num_images, num_odd, replace=False)))}
    category_ids = {spec.name: i for i, spec in enumerate(RRSISD_SPECS)}
    images, annotations, refs, records, odd_files = [], [], [], [], []
    samples = {split: 0 for split in SPLITS}
    for index, split in enumerate(_assign_splits(num_images, split_ratios)):
        image_id, file_name = index + 1, f'{index + 1:05d}.jpg'
        scene, attribute = _make_scene(rng, RRSISD_SPECS, size)
        described = [(0, ) + _describe(rng, scene, 0, attribute)]
        peers = [i for i, o in enumerate(scene.objects)
                 if i > 0 and o.spec.name == scene.objects[0].spec.name]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            second = peers[rng.integers(len(peers))]
            described.append((second, ) + _describe(rng, scene, second))

        jpeg = Image.fromarray(scene.image)
        height = odd_heights.get(index, size)
        if height != size:
            jpeg = jpeg.resize((size, height), Image.BILINEAR)
            odd_files.append(f'images/rrsisd/JPEGImages/{file_name}')
        jpeg.save(osp.join(img_dir, file_name), quality=95)
        images.append(dict(file_name=file_name, height=height, width=size, id=image_id))

        targets = []
        for obj_index, attribute, expression in described:
            ann_id = len(annotations) + 1
            rle = mask_utils.encode(np.asfortranarray(scene.masks[obj_index].astype(np.uint8)))
            category_id = category_ids[scene.objects[obj_index].spec.name]
            annotations.append(dict(
                id=ann_id, image_id=image_id, bbox=[float(v) for v in mask_utils.toBbox(rle)],
                categories_id=category_id, area=float(mask_utils.area(rle)),
                segmentation=[dict(size=[int(v) for v in rle['size']],
                                   counts=rle['counts'].decode('ascii'))]))
            refs.append(dict(
                image_id=image_id, split=split,
                sentences=[dict(tokens=expression.split(),
                                raw=expression[0].upper() + expression[1:], sent_id=ann_id,
                                sent=expression)],
                file_name=file_name, category_id=category_id, ann_id=ann_id, sent_ids=[ann_id],
                ref_id=ann_id))
            samples[split] += 1
            targets.append(
                dict(_target_record(scene, obj_index, attribute, expression), ann_id=ann_id))
        records.append(dict(id=image_id, split=split, file=f'images/rrsisd/JPEGImages/{file_name}',
                            objects=[_object_record(o) for o in scene.objects], targets=targets))

    with open(osp.join(ann_dir, 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=4)
    with open(osp.join(ann_dir, 'instances.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i, name=n) for i, n in enumerate(RRSISD_CATEGORIES)]), f)
    expressions = [t['expression'] for r in records for t in r['targets']]
    vocab_file = build_vocab(expressions + [_template_text(RRSISD_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    return _summary('rrsisd', out_dir, size, RRSISD_SPECS, records, samples, odd_files, vocab_file)
