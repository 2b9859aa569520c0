"""Writes a synthetic dataset in the RefSegRS layout."""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np
import tifffile

from .categories import REFSEGRS_SPECS
from .expressions import SECOND_EXPRESSION_SHARE, describe, template_text
from .no_target import add_no_target, write_no_target
from .records import object_record, summary, target_record
from .scenes import make_scene
from .splits import SPLITS, assign_splits, check_args
from .vocab import build_vocab


def _write_colour_pair(rng, out_dir: str, index: int, split: str, size: int,
                       lines: dict) -> List[dict]:
    """Writes one colour scene as ids 2 * index (object 0) and 2 * index + 1 (object 1)."""
    scene, _ = make_scene(rng, REFSEGRS_SPECS, size, attribute='color')
    records = []
    for target in (0, 1):
        img_id = 2 * index + target
        attribute, expression = describe(rng, scene, target, 'color')
        tifffile.imwrite(osp.join(out_dir, 'images', f'{img_id}.tif'), scene.image,
                         photometric='rgb')
        tifffile.imwrite(osp.join(out_dir, 'masks', f'{img_id}.tif'),
                         scene.masks[target].astype(np.uint8) * 255, photometric='minisblack')
        lines[split].append(f'{img_id} {expression}')
        records.append(dict(
            id=img_id, split=split, file=f'images/{img_id}.tif',
            objects=[object_record(o) for o in scene.objects],
            targets=[target_record(scene, target, attribute, expression)]))
    return records


def make_refsegrs(out_dir: str,
                  num_images: int,
                  seed: int = 0,
                  size: int = 512,
                  split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
                  no_target_share: float = 0.0,
                  colour_pairs: bool = False) -> dict:
    """Writes a synthetic dataset in the RefSegRS layout.

    Files: ``images/<id>.tif`` (RGB), ``masks/<id>.tif`` (0/255), ``output_phrase_<split>.txt``
    ("<id> <expression>" lines; about 30% of the ids get a second line that rewords the
    same target, since one id has one mask) and ``bert_vocab/vocab.txt``. Ids run from 0.
    With ``no_target_share`` > 0 also ``no_target.json`` (see
    :mod:`mmrrsis.datasets.synthetic.no_target`; ``image_id`` a string as the loader reads
    it); every other file is then byte-identical to the dataset without negatives.
    With ``colour_pairs`` every scene is built on colour and written twice (ids 2k and
    2k + 1, same split), once for each of two same-category objects, each named by its
    colour: the expression alone decides which of two masks on one image is meant, so a
    text-blind model stays near 50 mIoU.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of images.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Image side in pixels, at least 48. Defaults to 512.
        split_ratios (Sequence[float]): Train/val/test shares of the images.
            Defaults to (0.6, 0.2, 0.2).
        no_target_share (float): Share of each split's expressions that are exact
            no-target expressions, in [0, 1). Defaults to 0.
        colour_pairs (bool): Two colour-named targets per image, as above (no second
            wording, no no-target expressions). Defaults to False.

    Returns:
        dict: Summary with ``samples`` (expressions with a target, per split),
        ``no_target_samples`` (per split), ``categories``, ``attributes`` (expressions per
        attribute type), ``odd_size_images`` (empty here), ``vocab_file`` and ``images``: per
        image its ``objects`` (category, color, position, area), ``targets`` (expression,
        attribute, ``same_category_count``) and ``no_target`` (kind, category, expression).
    """
    check_args(num_images, size, split_ratios, no_target_share)
    if colour_pairs and no_target_share > 0:
        raise ValueError('make_refsegrs(colour_pairs=True) writes no no-target expressions; '
                         f'got no_target_share={no_target_share}')
    rng = np.random.default_rng(seed)
    for folder in ('images', 'masks'):
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    lines = {split: [] for split in SPLITS}
    records = []
    for img_id, split in enumerate(assign_splits(num_images, split_ratios)):
        if colour_pairs:
            records += _write_colour_pair(rng, out_dir, img_id, split, size, lines)
            continue
        scene, attribute = make_scene(rng, REFSEGRS_SPECS, size)
        described = [describe(rng, scene, 0, attribute)]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            described.append(describe(rng, scene, 0, avoid=[described[0][1]]))
        tifffile.imwrite(osp.join(out_dir, 'images', f'{img_id}.tif'), scene.image,
                         photometric='rgb')
        tifffile.imwrite(osp.join(out_dir, 'masks', f'{img_id}.tif'),
                         scene.masks[0].astype(np.uint8) * 255, photometric='minisblack')
        lines[split] += [f'{img_id} {expression}' for _, expression in described]
        records.append(dict(
            id=img_id, split=split, file=f'images/{img_id}.tif',
            objects=[object_record(o) for o in scene.objects],
            targets=[target_record(scene, 0, a, e) for a, e in described]))
    for split in SPLITS:
        with open(osp.join(out_dir, f'output_phrase_{split}.txt'), 'w', encoding='utf-8') as f:
            f.writelines(line + '\n' for line in lines[split])
    add_no_target(np.random.default_rng([seed, 1]), records, REFSEGRS_SPECS, no_target_share)
    if no_target_share > 0:
        write_no_target(out_dir, records, lambda r: str(r['id']), lambda name: dict(category=name))
    # The no-target expressions use template words only, so the vocabulary stays as it is.
    expressions = [t['expression'] for r in records for t in r['targets']]
    vocab_file = build_vocab(expressions + [template_text(REFSEGRS_SPECS)],
                             osp.join(out_dir, 'bert_vocab'))
    return summary('refsegrs', out_dir, size, REFSEGRS_SPECS, records,
                   {split: len(lines[split]) for split in SPLITS}, [], vocab_file)
