"""Colours and polygon primitives the synthetic renderers are drawn from."""
from typing import Sequence, Tuple

import numpy as np

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

Polygon = np.ndarray  # (K, 2) float x, y
Part = Tuple[Polygon, Tuple[int, int, int]]


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """The axis-aligned rectangle with corners (x0, y0) and (x1, y1)."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 36,
            start: float = 0.0, stop: float = 2 * np.pi) -> Polygon:
    """``n`` points of the ellipse (arc from ``start`` to ``stop``) around (cx, cy)."""
    t = np.linspace(start, stop, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def blob(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float,
         wobble: float = 0.12) -> Polygon:
    """An irregular closed outline: an ellipse whose radius varies with a few harmonics."""
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    radius = np.ones_like(t)
    for k in (2, 3, 5):
        radius += rng.uniform(0, wobble) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    radius /= radius.max()
    return np.stack([cx + rx * radius * np.cos(t), cy + ry * radius * np.sin(t)], axis=1)


def stadium_shape(half_w: float, half_h: float) -> Polygon:
    """A rectangle with semicircular ends, the outline of a running track."""
    r = half_h
    right = ellipse(half_w - r, 0, r, r, 18, -np.pi / 2, np.pi / 2 + 1e-9)
    left = ellipse(-half_w + r, 0, r, r, 18, np.pi / 2, 3 * np.pi / 2 + 1e-9)
    return np.concatenate([right, left])


def mirror_y(poly: Polygon) -> Polygon:
    """The polygon mirrored across the x axis."""
    return poly * np.array([1.0, -1.0])


def shade(rgb: Sequence[float], factor: float) -> Tuple[int, int, int]:
    """``rgb`` scaled by ``factor`` and clipped at 255."""
    return tuple(min(255, int(c * factor)) for c in rgb)
