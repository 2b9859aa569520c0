"""The summary the synthetic writers return: per image its objects and expressions."""
from typing import Dict, List, Sequence

from .categories import Category
from .expressions import TEMPLATES
from .scene_objects import Scene, SceneObject
from .splits import SPLITS


def object_record(obj: SceneObject) -> dict:
    """Category, colour name, position word and pixel area of a drawn object."""
    return dict(category=obj.spec.name, color=obj.color, position=obj.position, area=obj.area)


def target_record(scene: Scene, index: int, attribute: str, expression: str) -> dict:
    """What an expression of ``scene.objects[index]`` says and how many peers it has."""
    name = scene.objects[index].spec.name
    return dict(object=index, attribute=attribute, expression=expression,
                same_category_count=sum(o.spec.name == name for o in scene.objects))


def summary(dataset: str, out_dir: str, size: int, specs: Sequence[Category],
            images: List[dict], samples: Dict[str, int], odd_size_images: List[str],
            vocab_file: str) -> dict:
    """The writers' return value; see :func:`make_refsegrs`."""
    attributes = {a: 0 for a in TEMPLATES}
    for record in images:
        for target in record['targets']:
            attributes[target['attribute']] += 1
    no_target = {split: 0 for split in SPLITS}
    for record in images:
        no_target[record['split']] += len(record['no_target'])
    return dict(dataset=dataset, out_dir=out_dir, size=size, num_images=len(images),
                samples=samples, no_target_samples=no_target,
                categories=[spec.name for spec in specs], attributes=attributes,
                odd_size_images=odd_size_images, vocab_file=vocab_file, images=images)
