"""Writes a synthetic dataset in the NWPU-Refer layout (multi-target and no-target refs)."""
import json
import os
import os.path as osp
import pickle
from collections import Counter
from typing import Sequence

import numpy as np
from PIL import Image

from .categories import REFSEGRS_SPECS, RRSISD_SPECS
from .chinese import ALL_ZH, chinese_expression
from .expressions import describe, template_text
from .no_target import describe_absent
from .polygons import mask_polygons, resize_scene
from .records import object_record
from .scenes import make_scene
from .splits import SPLITS, assign_splits, check_args
from .vocab import build_vocab

# The 32 object classes and `no target` as a third-party loader lists them from the real
# file (typos kept); the synthetic category ids are their positions from 1 (the real ids are
# unknown), so the ids the writer uses are not contiguous.
NWPU_REFER_NAMES = (
    'car', 'ship', 'photovolatic', 'building', 'airplane', 'road', 'bridge', 'basketball court',
    'container', 'train', 'pool', 'storage tank', 'tennis court', 'ground track field',
    'football court', 'pylon', 'digger', 'wind turbine', 'construction tower',
    'road intersection', 'parking', 'baseball court', 'river', 'chimney', 'airplaneroad',
    'ocean', 'land', 'rugby court', 'lake', 'grass', 'badminton court', 'dam', 'no target')
NO_TARGET_NAME = 'no target'
_SPECS = {spec.name: spec for spec in REFSEGRS_SPECS + RRSISD_SPECS}
# The drawn categories: (NWPU-Refer name, synthetic category drawn for it, Chinese name).
_DRAWN = (('car', 'car', '汽车'), ('ship', 'ship', '船'), ('airplane', 'airplane', '飞机'),
          ('building', 'building', '建筑'), ('storage tank', 'storage tank', '储油罐'),
          ('tennis court', 'tennis court', '网球场'),
          ('basketball court', 'basketball court', '篮球场'),
          ('baseball court', 'baseball field', '棒球场'), ('chimney', 'chimney', '烟囱'),
          ('wind turbine', 'windmill', '风力发电机'), ('bridge', 'bridge', '桥'),
          ('dam', 'dam', '坝'), ('ground track field', 'ground track field', '田径场'))
NWPU_REFER_SPECS = tuple(_SPECS[drawn]._replace(name=name) for name, drawn, _ in _DRAWN)
CHINESE_NAMES = {name: zh for name, _, zh in _DRAWN}
# Image shapes, as (width, height) factors of `size`, taken in turn: the real images vary.
SHAPES = ((1, 1), (4 / 3, 1), (1, 4 / 3))


def _sentences(texts, first_id: int) -> list:
    return [dict(raw=t, sent=t, sent_id=first_id + i) for i, t in enumerate(texts)]


def make_nwpu_refer(out_dir: str,
                    num_images: int,
                    seed: int = 0,
                    size: int = 1024,
                    split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
                    nested_image_dir: bool = False) -> dict:
    """Writes a synthetic dataset in the NWPU-Refer layout.

    Files: ``new_refs(unc).p``, ``new_instances.json`` (``category_id`` key, COCO polygons
    that rasterise to the drawn masks exactly, each object cut into two or more polygons),
    ``image/<id:05d>.jpg`` (``image/image/`` with ``nested_image_dir``) and
    ``bert_vocab/vocab.txt``. The images are ``size`` px, ``4/3 * size`` wide or tall in turn.

    Refs of each image (ids from 1):

    * one single-target ref for the object its expressions single out, sentences
      ``[zh, en]`` ("左上角的红色汽车", "the red car at the top left");
    * the 2nd, 4th... image of each split: a multi-target expression, "all the cars" /
      "所有的汽车", stored as one ref per object of the category, all sharing the sentences
      (a loader that merges them gets the union of 2-4 disjoint objects);
    * the 1st, 3rd... image of each split: a no-target ref, an English expression that names
      nothing in the image (a category, colour or position no drawn object has), category
      ``no target``, pointing at an annotation with ``segmentation: []`` and a non-zero
      ``bbox``.

    One extra ref with split ``testA`` (a copy of the first test ref) shows what a loader does
    with an unknown split. 13 of the 32 classes are drawn.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Shorter image side in pixels, at least 48. Defaults to 1024.
        split_ratios (Sequence[float]): Train/val/test shares of the images.
            Defaults to (0.6, 0.2, 0.2).
        nested_image_dir (bool): Put the images in ``image/image/``. Defaults to False.

    Returns:
        dict: ``samples`` (English expressions after merging, per split), ``no_target_samples``
        and ``multi_target_samples`` per split, ``attributes`` (of the single-target
        expressions), ``categories``, ``category_ids``, ``vocab_file``, ``odd_size_images``
        (none) and ``images``: per image its file, size, objects and refs (kind,
        English and Chinese text, object indices).
    """
    check_args(num_images, size, split_ratios)
    rng = np.random.default_rng(seed)
    img_rel = 'image/image' if nested_image_dir else 'image'
    os.makedirs(osp.join(out_dir, img_rel), exist_ok=True)
    category_ids = {name: NWPU_REFER_NAMES.index(name) + 1
                    for name in [s.name for s in NWPU_REFER_SPECS] + [NO_TARGET_NAME]}
    images, annotations, refs, records, texts = [], [], [], [], []
    counts = {key: {split: 0 for split in SPLITS} for key in ('samples', 'no_target', 'multi')}

    def add_ref(image_id, split, ann_id, category, sentences):
        ref_id = len(refs) + 1
        refs.append(dict(ref_id=ref_id, image_id=image_id, ann_id=ann_id,
                         category_id=category_ids[category], split=split,
                         sentences=_sentences(sentences, 100 * ref_id)))
        texts.extend(sentences)

    splits = assign_splits(num_images, split_ratios)
    for index, split in enumerate(splits):
        image_id, file_name = index + 1, f'{index + 1:05d}.jpg'
        scene, attribute = make_scene(rng, NWPU_REFER_SPECS, size)
        fx, fy = SHAPES[index % len(SHAPES)]
        width, height = round(size * fx), round(size * fy)
        scene = resize_scene(scene, width, height)
        Image.fromarray(scene.image).save(osp.join(out_dir, img_rel, file_name), quality=95)
        images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
        ann_of = {}

        def annotate(obj_index):
            if obj_index not in ann_of:
                ann_of[obj_index] = len(annotations) + 1
                ys, xs = np.nonzero(scene.masks[obj_index])
                annotations.append(dict(
                    id=ann_of[obj_index], image_id=image_id,
                    category_id=category_ids[scene.objects[obj_index].spec.name],
                    bbox=[float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1),
                          float(np.ptp(ys) + 1)],
                    segmentation=mask_polygons(scene.masks[obj_index])))
            return ann_of[obj_index]

        target = scene.objects[0]
        _, english = describe(rng, scene, 0, attribute)
        chinese = chinese_expression(scene, 0, attribute, CHINESE_NAMES)
        add_ref(image_id, split, annotate(0), target.spec.name, [chinese, english])
        image_refs = [dict(kind='single', en=english, zh=chinese, objects=[0],
                           attribute=attribute)]
        counts['samples'][split] += 1
        objects = [object_record(o) for o in scene.objects]
        if splits[:index].count(split) % 2:
            members = [i for i, o in enumerate(scene.objects) if o.spec.name == target.spec.name]
            english = f'all the {target.spec.name}s'
            chinese = ALL_ZH.format(category=CHINESE_NAMES[target.spec.name])
            for i in members:
                add_ref(image_id, split, annotate(i), target.spec.name, [chinese, english])
            image_refs.append(dict(kind='multi', en=english, zh=chinese, objects=members))
            counts['multi'][split] += 1
            counts['samples'][split] += 1
        else:
            found = describe_absent(rng, objects, NWPU_REFER_SPECS)
            if found is None:
                raise RuntimeError(f'synthetic NWPU-Refer image {file_name}: no no-target '
                                   'expression fits its scene')
            kind, named, english = found
            ann_id = len(annotations) + 1
            annotations.append(dict(
                id=ann_id, image_id=image_id, category_id=category_ids[NO_TARGET_NAME],
                bbox=[1.0, 1.0, float(width // 3), float(height // 3)], segmentation=[]))
            add_ref(image_id, split, ann_id, NO_TARGET_NAME, [english])
            image_refs.append(dict(kind='no_target', en=english, zh=None, objects=[],
                                   absent=kind, named=named))
            counts['no_target'][split] += 1
            counts['samples'][split] += 1
        records.append(dict(id=image_id, split=split, file=f'{img_rel}/{file_name}',
                            width=width, height=height, objects=objects, refs=image_refs))

    first_test = next((r for r in refs if r['split'] == 'test'), None)
    if first_test is not None:
        refs.append(dict(first_test, ref_id=len(refs) + 1, split='testA'))
    with open(osp.join(out_dir, 'new_refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=4)
    categories = [dict(id=i, name=n) for n, i in sorted(category_ids.items(), key=lambda c: c[1])]
    with open(osp.join(out_dir, 'new_instances.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f,
                  ensure_ascii=False)
    vocab_file = build_vocab(texts + [template_text(NWPU_REFER_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    attributes = Counter(r['attribute'] for record in records for r in record['refs']
                         if r['kind'] == 'single')
    return dict(dataset='nwpu_refer', out_dir=out_dir, size=size, num_images=len(records),
                samples=counts['samples'], no_target_samples=counts['no_target'],
                multi_target_samples=counts['multi'], attributes=dict(attributes),
                categories=[s.name for s in NWPU_REFER_SPECS], category_ids=category_ids,
                odd_size_images=[], vocab_file=vocab_file, images=records)
