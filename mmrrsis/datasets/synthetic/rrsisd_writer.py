"""Writes a synthetic dataset in the RRSIS-D layout."""
import json
import os
import os.path as osp
import pickle
from typing import Sequence

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from .categories import RRSISD_CATEGORIES, RRSISD_SPECS
from .expressions import SECOND_EXPRESSION_SHARE, describe, template_text
from .no_target import add_no_target, write_no_target
from .records import object_record, summary, target_record
from .scenes import make_scene
from .splits import SPLITS, assign_splits, check_args
from .vocab import build_vocab

def make_rrsisd(out_dir: str,
                num_images: int,
                seed: int = 0,
                size: int = 800,
                split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
                no_target_share: float = 0.0) -> dict:
    """Writes a synthetic dataset in the RRSIS-D layout.

    Files: ``rrsisd/refs(unc).p``, ``rrsisd/instances.json`` (note the ``categories_id``
    key and the list-of-one-RLE segmentation of the real file),
    ``images/rrsisd/JPEGImages/<id:05d>.jpg`` and ``bert_vocab/vocab.txt``. Image, annotation,
    ref and sentence ids run from 1; one ref per annotation, one sentence per ref, and about
    30% of the images get a second ref for another object of the target's category.
    ``instances.json`` annotates the referred objects only, as the real file does. With
    ``no_target_share`` > 0 also ``no_target.json`` (see
    :mod:`mmrrsis.datasets.synthetic.no_target`; ``image_id`` and ``category_id`` as in the
    refs, ``category`` the loader's name); every other file is then byte-identical to the
    dataset without negatives.

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
        no_target_share (float): Share of each split's expressions that are exact
            no-target expressions, in [0, 1). Defaults to 0.

    Returns:
        dict: Summary as for :func:`make_refsegrs`; ``samples`` counts sentences and
        ``odd_size_images`` lists the odd-size JPEGs relative to ``out_dir``.
    """
    check_args(num_images, size, split_ratios, no_target_share)
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
    for index, split in enumerate(assign_splits(num_images, split_ratios)):
        image_id, file_name = index + 1, f'{index + 1:05d}.jpg'
        scene, attribute = make_scene(rng, RRSISD_SPECS, size)
        described = [(0, ) + describe(rng, scene, 0, attribute)]
        peers = [i for i, o in enumerate(scene.objects)
                 if i > 0 and o.spec.name == scene.objects[0].spec.name]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            second = peers[rng.integers(len(peers))]
            described.append((second, ) + describe(rng, scene, second))

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
                dict(target_record(scene, obj_index, attribute, expression), ann_id=ann_id))
        records.append(dict(id=image_id, split=split, file=f'images/rrsisd/JPEGImages/{file_name}',
                            objects=[object_record(o) for o in scene.objects], targets=targets))

    with open(osp.join(ann_dir, 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=4)
    with open(osp.join(ann_dir, 'instances.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i, name=n) for i, n in enumerate(RRSISD_CATEGORIES)]), f)
    add_no_target(np.random.default_rng([seed, 1]), records, RRSISD_SPECS, no_target_share)
    if no_target_share > 0:
        write_no_target(out_dir, records, lambda r: r['id'], lambda name: dict(
            category=RRSISD_CATEGORIES[category_ids[name]], category_id=category_ids[name]))
    # The no-target expressions use template words only, so the vocabulary stays as it is.
    expressions = [t['expression'] for r in records for t in r['targets']]
    vocab_file = build_vocab(expressions + [template_text(RRSISD_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    return summary('rrsisd', out_dir, size, RRSISD_SPECS, records, samples, odd_files, vocab_file)
