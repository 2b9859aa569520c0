"""Exact no-target expressions for the synthetic scenes (negatives in the gRefCOCO sense).

A no-target expression describes something the scene does not show: a category none of its
objects belongs to ("the red bus" in a scene without a bus), or a category it shows with a
colour or a position none of that category's objects has ("the red vehicle at the top left"
where no vehicle is red). Related categories count as one (:func:`related`): car, van,
truck... are all vehicles, so "the red vehicle" is never said of a scene with a red car;
roads carry painted markings, and roads, bikeways and sidewalks are impervious surfaces.
The generator knows every object it drew, including the unannotated distractors, so these
negatives are exact, unlike the category-level ones :class:`mmrrsis.datasets.NoTargetDataset`
samples from annotations.

They are drawn from their own random stream and written to ``no_target.json`` beside the
dataset's own files, which stay as they are without negatives; ``NoTargetDataset`` reads
them (``negatives_file='no_target.json'``).
"""
import json
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .categories import Category
from .expressions import SIZE_WORDS, TEMPLATES, WHERE
from .splits import SPLITS

NO_TARGET_FILE = 'no_target.json'
# Kinds of no-target expression and their shares: a category the scene lacks, or a present
# category with a colour / position that none of its objects has.
NO_TARGET_KINDS = {'category': 0.5, 'color': 0.25, 'position': 0.25}
POSITIONS = tuple(WHERE)
# The grid cells a position word may be heard as: "on the right" also fits an object at the
# top right, so it is said only where no object of the category is in the right column.
REACH = {word: {w for w in POSITIONS if all(part in w.split() for part in word.split())}
         for word in POSITIONS if word != 'center'}
REACH['center'] = {'center'}
MAX_NO_TARGET_TRIES = 50
# Categories that may be said of the same pixels besides a category group: the synthetic roads
# and bikeways are painted with markings, and all of them are impervious surfaces.
PAVED = ('road', 'road marking', 'bikeway', 'sidewalk', 'impervious surface')


def related(specs: Sequence[Category], name: str) -> Set[str]:
    """``name`` and the categories that may name the same object (its group, paved ground)."""
    spec = next(s for s in specs if s.name == name)
    names = {s.name for s in specs if spec.group and s.group == spec.group} | {name}
    return names | set(PAVED) if name in PAVED else names


def _pick(rng, items: Sequence):
    return items[rng.integers(len(items))]


def _phrase(rng, spec: Category, attribute: str, color: Optional[str] = None,
            position: Optional[str] = None) -> str:
    """An expression about ``spec`` built on ``attribute``; unset values are drawn."""
    if color is None and spec.colors:
        color = _pick(rng, spec.colors)
    if position is None:
        position = _pick(rng, POSITIONS)
    size = _pick(rng, SIZE_WORDS[(spec.band, bool(rng.integers(2)))])
    return _pick(rng, TEMPLATES[attribute]).format(category=spec.name, color=color or '',
                                                   where=WHERE[position], size=size)


def no_target_options(objects: Sequence[dict], specs: Sequence[Category]) -> Dict[str, list]:
    """What a no-target expression may name in a scene, by kind.

    Args:
        objects (Sequence[dict]): The scene's object records (``category``, ``color``,
            ``position``), distractors included.
        specs (Sequence[Category]): The dataset's categories.

    Returns:
        dict: ``category``: the absent categories; ``color``: (category, colour) pairs of
        present categories whose group has no object of that colour; ``position``:
        (category, position word) pairs where no object of the group lies in any cell the
        word may be heard as (:data:`REACH`; band-shaped categories excluded: a road through
        the top row also passes the top left).
    """
    present = [s for s in specs if any(o['category'] == s.name for o in objects)]
    covered = set().union(*(related(specs, s.name) for s in present))
    options = dict(category=[s for s in specs if s.name not in covered], color=[], position=[])
    for spec in present:
        peers = [o for o in objects if o['category'] in related(specs, spec.name)]
        options['color'] += [(spec, c) for c in spec.colors
                             if all(o['color'] != c for o in peers)]
        if not spec.band:
            options['position'] += [(spec, p) for p in POSITIONS
                                    if all(o['position'] not in REACH[p] for o in peers)]
    return options


def describe_absent(rng, objects: Sequence[dict],
                    specs: Sequence[Category]) -> Optional[Tuple[str, str, str]]:
    """Draws one no-target expression for a scene.

    Args:
        rng (np.random.Generator): Random source.
        objects (Sequence[dict]): The scene's object records.
        specs (Sequence[Category]): The dataset's categories.

    Returns:
        tuple | None: (kind, category named, expression), or None when the scene leaves
        nothing to name.
    """
    options = no_target_options(objects, specs)
    kinds = [k for k in NO_TARGET_KINDS if options[k]]
    if not kinds:
        return None
    shares = [NO_TARGET_KINDS[k] for k in kinds]
    kind = kinds[rng.choice(len(kinds), p=[s / sum(shares) for s in shares])]
    if kind == 'category':
        spec = _pick(rng, options['category'])
        attributes = ['position'] + (['color', 'color+position'] if spec.colors else []) + \
            (['size'] if spec.sizeable else [])
        return kind, spec.name, _phrase(rng, spec, _pick(rng, attributes))
    if kind == 'color':
        spec, color = _pick(rng, options['color'])
        return kind, spec.name, _phrase(rng, spec, _pick(rng, ('color', 'color+position')),
                                        color=color)
    spec, position = _pick(rng, options['position'])
    return kind, spec.name, _phrase(rng, spec, 'position', position=position)


def add_no_target(rng, records: List[dict], specs: Sequence[Category], share: float) -> None:
    """Gives each image record its ``no_target`` list, with ``share`` of each split's
    expressions no-target ones (``kind``, ``category``, ``expression``) on its images.

    Raises:
        RuntimeError: When the split's images cannot take that many distinct expressions.
    """
    for record in records:
        record['no_target'] = []
    if share == 0:
        return
    for split in SPLITS:
        images = [r for r in records if r['split'] == split]
        count = round(share / (1 - share) * sum(len(r['targets']) for r in images))
        for _ in range(count):
            for _ in range(MAX_NO_TARGET_TRIES):
                record = _pick(rng, images)
                found = describe_absent(rng, record['objects'], specs)
                if found and all(t['expression'] != found[2] for t in record['no_target']):
                    record['no_target'].append(dict(zip(('kind', 'category', 'expression'),
                                                        found)))
                    break
            else:
                raise RuntimeError(f'no new no-target expression for the {len(images)} {split} '
                                   f'images in {MAX_NO_TARGET_TRIES} tries; lower '
                                   'no_target_share')


def write_no_target(out_dir: str, records: List[dict], image_id: Callable[[dict], object],
                    category: Callable[[str], dict]) -> str:
    """Writes ``no_target.json``: ``{"samples": [{split, image_id, expression, kind,
    category[, category_id]}, ...]}`` in image order.

    Args:
        out_dir (str): Dataset root.
        records (list[dict]): Image records with their ``no_target`` lists.
        image_id (Callable): The dataset loader's ``image_id`` of a record.
        category (Callable): The loader's category fields of a synthetic category name.

    Returns:
        str: Path of the file.
    """
    samples = [dict(split=r['split'], image_id=image_id(r), expression=t['expression'],
                    kind=t['kind'], **category(t['category']))
               for r in records for t in r['no_target']]
    path = osp.join(out_dir, NO_TARGET_FILE)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(dict(samples=samples), f, indent=1)
    return path
