"""Writes a synthetic dataset in the RRSIS-HR layout (RRSIS-D's REFER files, key ``rrsishr``)."""
import json
import os
import os.path as osp
import pickle
from collections import Counter
from typing import Sequence

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from .categories import RRSISD_SPECS
from .expressions import SECOND_EXPRESSION_SHARE, describe, template_text
from .polygons import mask_polygons, resize_scene
from .records import object_record, target_record
from .scenes import make_scene
from .splits import SPLITS, assign_splits, check_args
from .vocab import build_vocab

# Seven drawn classes, as RRSIS-HR has seven (its names are not known outside the file), with
# ids that are neither contiguous nor from 0, so that a loader must read the id -> name map.
RRSISHR_SPECS = tuple(s for s in RRSISD_SPECS if s.name in (
    'airplane', 'baseball field', 'bridge', 'ship', 'storage tank', 'tennis court', 'vehicle'))
RRSISHR_CATEGORY_IDS = {spec.name: 3 + 4 * i for i, spec in enumerate(RRSISHR_SPECS)}


def make_rrsishr(out_dir: str,
                 num_images: int,
                 seed: int = 0,
                 size: int = 1024,
                 split_ratios: Sequence[float] = (0.6, 0.2, 0.2)) -> dict:
    """Writes a synthetic dataset in the RRSIS-HR layout.

    Files: ``rrsishr/refs(unc).p``, ``rrsishr/instances.json`` (annotations with the
    ``category_id`` key; odd annotation ids hold COCO polygons, each object cut into two or
    more that rasterise to the drawn mask exactly, even ids a list holding one RLE; categories
    with ids 3, 7, 11...), ``images/rrsishr/JPEGImages/<id:05d>.jpg`` and
    ``bert_vocab/vocab.txt``. Every second image is ``4/3 * size`` tall (non-square, so that
    a swapped height and width shows). One ref per annotation; about 30 % of the images get
    a second ref for another object of the target's category, and about 30 % of the refs a
    second sentence (another wording), at least the first ref.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Image width in pixels, at least 48. Defaults to 1024.
        split_ratios (Sequence[float]): Train/val/test shares of the images.
            Defaults to (0.6, 0.2, 0.2).

    Returns:
        dict: ``samples`` (sentences per split), ``attributes`` (of the refs' first
        sentences), ``categories``, ``category_ids``, ``vocab_file``, ``odd_size_images``
        (none) and ``images``: per image its file, size, objects and targets (object,
        attribute, sentences, ann_id).
    """
    check_args(num_images, size, split_ratios)
    rng = np.random.default_rng(seed)
    ann_dir = osp.join(out_dir, 'rrsishr')
    img_rel = 'images/rrsishr/JPEGImages'
    for folder in (ann_dir, osp.join(out_dir, img_rel)):
        os.makedirs(folder, exist_ok=True)
    images, annotations, refs, records, texts = [], [], [], [], []
    samples = {split: 0 for split in SPLITS}
    for index, split in enumerate(assign_splits(num_images, split_ratios)):
        image_id, file_name = index + 1, f'{index + 1:05d}.jpg'
        scene, attribute = make_scene(rng, RRSISHR_SPECS, size)
        height = round(size * 4 / 3) if index % 2 else size
        scene = resize_scene(scene, size, height)
        Image.fromarray(scene.image).save(osp.join(out_dir, img_rel, file_name), quality=95)
        images.append(dict(id=image_id, file_name=file_name, height=height, width=size))
        described = [(0, ) + describe(rng, scene, 0, attribute)]
        peers = [i for i, o in enumerate(scene.objects)
                 if i > 0 and o.spec.name == scene.objects[0].spec.name]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            second = peers[rng.integers(len(peers))]
            described.append((second, ) + describe(rng, scene, second))
        targets = []
        for obj_index, attribute, expression in described:
            ann_id = len(annotations) + 1
            mask = scene.masks[obj_index]
            if ann_id % 2:
                segmentation = mask_polygons(mask)
            else:
                rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
                segmentation = [dict(size=[int(v) for v in rle['size']],
                                     counts=rle['counts'].decode('ascii'))]
            category_id = RRSISHR_CATEGORY_IDS[scene.objects[obj_index].spec.name]
            annotations.append(dict(id=ann_id, image_id=image_id, category_id=category_id,
                                    area=float(mask.sum()), segmentation=segmentation))
            sentences = [expression]
            if not refs or rng.random() < SECOND_EXPRESSION_SHARE:
                other = describe(rng, scene, obj_index, avoid=sentences)[1]
                if other != expression:
                    sentences.append(other)
            sent_ids = [100 * ann_id + i for i in range(len(sentences))]
            refs.append(dict(
                image_id=image_id, split=split, file_name=file_name, category_id=category_id,
                ann_id=ann_id, ref_id=ann_id, sent_ids=sent_ids,
                sentences=[dict(tokens=t.split(), raw=t[0].upper() + t[1:], sent=t, sent_id=i)
                           for t, i in zip(sentences, sent_ids)]))
            samples[split] += len(sentences)
            texts += sentences
            targets.append(dict(target_record(scene, obj_index, attribute, expression),
                                sentences=sentences, ann_id=ann_id))
        records.append(dict(id=image_id, split=split, file=f'{img_rel}/{file_name}',
                            width=size, height=height,
                            objects=[object_record(o) for o in scene.objects], targets=targets))

    with open(osp.join(ann_dir, 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=4)
    categories = [dict(id=RRSISHR_CATEGORY_IDS[s.name], name=s.name) for s in RRSISHR_SPECS]
    with open(osp.join(ann_dir, 'instances.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    vocab_file = build_vocab(texts + [template_text(RRSISHR_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    attributes = Counter(t['attribute'] for record in records for t in record['targets'])
    return dict(dataset='rrsishr', out_dir=out_dir, size=size, num_images=len(records),
                samples=samples, attributes=dict(attributes),
                categories=[s.name for s in RRSISHR_SPECS],
                category_ids=dict(RRSISHR_CATEGORY_IDS), odd_size_images=[],
                vocab_file=vocab_file, images=records)
