"""Referring expressions of the synthetic scenes: the words, the templates, and which
attribute values single an object out among its same-category peers."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .categories import Category
from .scene_objects import Scene, SceneObject
from .shapes import PALETTE

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
# Share of RefSegRS images given a second, paraphrased line, and of RRSIS-D images given a
# second ref that points at another object of the same category.
SECOND_EXPRESSION_SHARE = 0.3
# One target must be this many times larger (or smaller) in area than every other object
# of its category before "larger"/"smaller" may describe it.
SIZE_RATIO = 1.5


def unique_attributes(target: SceneObject, peers: List[SceneObject],
                      band: bool) -> Dict[str, str]:
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


def phrasings(scene: Scene, index: int) -> List[Tuple[str, str]]:
    """All (attribute, expression) pairs that single out ``scene.objects[index]``."""
    target = scene.objects[index]
    peers = [o for i, o in enumerate(scene.objects)
             if i != index and o.spec.name == target.spec.name]
    values = unique_attributes(target, peers, target.spec.band)
    fields = dict(category=target.spec.name, color=values.get('color', ''),
                  where=WHERE.get(values.get('position', ''), ''), size=values.get('size', ''))
    return [(attribute, template.format(**fields))
            for attribute in values for template in TEMPLATES[attribute]]


def describe(rng, scene: Scene, index: int, attribute: Optional[str] = None,
             avoid: Iterable[str] = ()) -> Tuple[str, str]:
    """Picks an expression that singles out ``scene.objects[index]``.

    Args:
        rng (np.random.Generator): Random source.
        scene (Scene): The drawn scene.
        index (int): Index of the target in ``scene.objects``.
        attribute (str, optional): Attribute to build the expression on; None picks any
            attribute that singles the target out. Defaults to None.
        avoid (Iterable[str]): Expressions already used for this target; another wording
            is chosen when one exists. Defaults to ().

    Returns:
        tuple: The attribute and the expression.
    """
    options = phrasings(scene, index)
    if attribute is not None:
        options = [o for o in options if o[0] == attribute]
    avoid = set(avoid)
    options = [o for o in options if o[1] not in avoid] or options
    return options[rng.integers(len(options))]


def template_text(specs: Sequence[Category]) -> str:
    """Every word an expression of this dataset can contain, for the tokenizer vocabulary."""
    words = {w for spec in specs for w in spec.name.split()}
    words |= set(PALETTE) | {w for phrase in WHERE.values() for w in phrase.split()}
    words |= {w for pair in SIZE_WORDS.values() for w in pair}
    words |= {w for group in TEMPLATES.values() for t in group for w in t.split() if '{' not in w}
    return ' '.join(sorted(words))
