"""Synthetic RefSegRS- and RRSIS-D-format data for tests, tiny configs and smoke runs.

Each scene imitates an aerial tile: textured ground, some unlabelled water or bare-soil
patches, and objects drawn from simple polygons (roofs with shading, vehicles with
windows, courts with lines, tanks with rims...). Every image holds 2-4 objects of the
target's category plus 1-3 objects of other categories, and the same-category objects
differ in the attribute the expression names (colour, position or size), so the target can
only be found by reading the expression. Optionally, exact no-target expressions are added.

Modules: ``shapes`` (colours, polygons), ``renderers`` (one drawing per category),
``categories``, ``scene_objects`` (the objects and the drawn scene), ``scenes`` (layout and
drawing), ``expressions``, ``no_target``, ``vocab``, ``splits``, ``records`` (the returned
summary) and the writers ``refsegrs_writer``, ``rrsisd_writer`` and the REFER-style
``rrsishr_writer`` and ``nwpu_refer_writer`` (with ``polygons``: exact COCO polygons of the
drawn masks, and ``chinese``: the Chinese sentences of NWPU-Refer).

The package imports only numpy, PIL, tifffile, pycocotools, scipy (mmseg's own dependency)
and tokenizers (no torch, no mmseg), so its logic needs none of the training stack;
importing it through the ``mmrrsis.datasets`` package still loads that package's mmseg-based
datasets.
"""
from .categories import (LONG, REFSEGRS_CATEGORIES, REFSEGRS_SPECS, RRSISD_CATEGORIES,
                         RRSISD_SPECS, VEHICLE_GROUP, Category)
from .expressions import (POSITION_WORDS, SECOND_EXPRESSION_SHARE, SIZE_RATIO, SIZE_WORDS,
                          TEMPLATES, WHERE)
from .jsonl_writer import JSONL_DATASETS, make_jsonl
from .no_target import NO_TARGET_FILE, NO_TARGET_KINDS
from .nwpu_refer_writer import NWPU_REFER_SPECS, make_nwpu_refer
from .polygons import mask_polygons
from .refsegrs_writer import make_refsegrs
from .risbench_writer import RISBENCH_LAYOUTS, RISBENCH_SPECS, make_risbench
from .rrsisd_writer import make_rrsisd
from .rrsishr_writer import RRSISHR_CATEGORY_IDS, RRSISHR_SPECS, make_rrsishr
from .scenes import ATTRIBUTE_SHARES, MAX_LAYOUT_TRIES, MIN_SIZE
from .shapes import ALL_COLORS, GLASS, GRASS, PAINT, PALETTE, SOIL, WATER, Part, Polygon
from .splits import SPLITS
from .vocab import SPECIAL_TOKENS, build_vocab

__all__ = [
    'make_refsegrs', 'make_rrsisd', 'build_vocab', 'REFSEGRS_CATEGORIES', 'RRSISD_CATEGORIES',
    'REFSEGRS_SPECS', 'RRSISD_SPECS', 'Category', 'LONG', 'VEHICLE_GROUP', 'POSITION_WORDS',
    'WHERE', 'TEMPLATES', 'SIZE_WORDS', 'SIZE_RATIO', 'SECOND_EXPRESSION_SHARE',
    'ATTRIBUTE_SHARES', 'MAX_LAYOUT_TRIES', 'MIN_SIZE', 'PALETTE', 'ALL_COLORS', 'GLASS',
    'WATER', 'SOIL', 'PAINT', 'GRASS', 'Polygon', 'Part', 'SPLITS', 'SPECIAL_TOKENS',
    'NO_TARGET_FILE', 'NO_TARGET_KINDS', 'make_risbench', 'RISBENCH_SPECS', 'RISBENCH_LAYOUTS',
    'make_jsonl', 'JSONL_DATASETS', 'make_rrsishr', 'RRSISHR_SPECS', 'RRSISHR_CATEGORY_IDS',
    'make_nwpu_refer', 'NWPU_REFER_SPECS', 'mask_polygons'
]
