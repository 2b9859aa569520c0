"""The objects of a synthetic scene and the drawn scene: what the layout (``scenes``) makes
and the expressions (``expressions``) describe."""
from typing import List, NamedTuple, Optional

import numpy as np

from .categories import Category
from .shapes import Part


class SceneObject:
    """One drawn object: its category, colour name and image-space polygons."""

    def __init__(self, spec: Category, color: Optional[str], parts: List[Part],
                 context: List[Part]) -> None:
        self.spec = spec
        self.color = color
        self.parts = parts
        self.context = context
        self.area = 0
        self.position = ''


class Scene(NamedTuple):
    """A drawn scene; its target, the object an expression is made for, is ``objects[0]``."""
    image: np.ndarray  # (size, size, 3) uint8
    masks: List[np.ndarray]  # one (size, size) bool mask per object
    objects: List[SceneObject]
