"""Writes a synthetic dataset in the RISBench layout (CroBIM's download or the RSFM re-layout)."""
import os
import os.path as osp
from typing import Sequence

import numpy as np
from PIL import Image

from .categories import RRSISD_SPECS
from .expressions import SECOND_EXPRESSION_SHARE, describe, template_text
from .records import object_record, summary, target_record
from .scenes import make_scene
from .splits import SPLITS, assign_splits, check_args
from .vocab import build_vocab

# RISBench's DIOR classes are RRSIS-D's, with "baseball diamond" for "baseball field"; its
# six DOTA-only classes have no renderer and are not drawn.
RISBENCH_SPECS = tuple(spec._replace(name='baseball diamond') if spec.name == 'baseball field'
                       else spec for spec in RRSISD_SPECS)
# Share of expressions that end by naming another object of the scene, as RISBench's often do
# ("...docked at the harbor"); the category is then the first name, not the longest.
CONTEXT_SHARE = 0.3
CONTEXT = ', in a scene that also shows a {other}'
# layout: image folder, mask folder, phrase file, whether ids keep their '.png'
RISBENCH_LAYOUTS = {
    'crobim': ('img_rgb', 'mask', 'output_phrase_{split}.txt', True),
    'rsfm': ('images', 'masks', 'phrase_txts/output_phrase_{split}.txt', False),
}


def _sentence(expression: str) -> str:
    """RISBench's style: capitalised, ending in a full stop."""
    return expression[0].upper() + expression[1:] + '.'


def make_risbench(out_dir: str,
                  num_images: int,
                  seed: int = 0,
                  size: int = 64,
                  split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
                  layout: str = 'crobim') -> dict:
    """Writes a synthetic dataset in the RISBench layout, with the quirks of the real files.

    One file per referent, as RISBench: scene ``s`` of the train and val pool is written as
    ``train_<s>_<k>.png`` for its object ``k`` (the target and, for about 30% of the scenes,
    a same-category peer), image and mask under the same name, one line per file. Val scenes
    continue the train numbering and keep the ``train_`` prefix; test scenes are
    ``test_<s>_<k>``. Quirks: the first train mask is 3-channel (0/255 repeated), the second a
    0/1 mask; the second train expression has a double space and a space before its full
    stop; the test phrase file has a blank second line; about 30% of the expressions end by
    naming another category of the scene. Also writes ``bert_vocab/vocab.txt``.

    Args:
        out_dir (str): Dataset root to write into (created when missing).
        num_images (int): Number of scenes.
        seed (int): Seed; the same seed gives byte-identical files. Defaults to 0.
        size (int): Image side in pixels, at least 48. Defaults to 64.
        split_ratios (Sequence[float]): Train/val/test shares of the scenes.
            Defaults to (0.6, 0.2, 0.2).
        layout (str): 'crobim' (``img_rgb/``, ``mask/``, ids with ``.png``) or 'rsfm'
            (``images/``, ``masks/``, ``phrase_txts/``, ids without). Defaults to 'crobim'.

    Returns:
        dict: Summary as for :func:`make_refsegrs`, plus ``layout``; each target record also
        has ``file`` (the image id as the phrase file writes it) and ``category``.
    """
    check_args(num_images, size, split_ratios)
    if layout not in RISBENCH_LAYOUTS:
        raise ValueError(f'layout must be one of {tuple(RISBENCH_LAYOUTS)}, got "{layout}"')
    img_dir, mask_dir, phrase_file, with_ext = RISBENCH_LAYOUTS[layout]
    for folder in (img_dir, mask_dir, osp.dirname(phrase_file)):
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = {split: [] for split in SPLITS}
    records = []
    next_scene = {'train': 0, 'test': 0}
    for split in assign_splits(num_images, split_ratios):
        prefix = 'test' if split == 'test' else 'train'
        scene_index = next_scene[prefix]
        next_scene[prefix] += 1
        scene, attribute = make_scene(rng, RISBENCH_SPECS, size)
        name = scene.objects[0].spec.name
        referents = [(0, ) + describe(rng, scene, 0, attribute)]
        peers = [i for i, o in enumerate(scene.objects) if i > 0 and o.spec.name == name]
        if rng.random() < SECOND_EXPRESSION_SHARE:
            second = peers[rng.integers(len(peers))]
            referents.append((second, ) + describe(rng, scene, second))
        others = sorted({o.spec.name for o in scene.objects if o.spec.name != name})
        targets = []
        for index, attr, expression in referents:
            if others and rng.random() < CONTEXT_SHARE:
                expression += CONTEXT.format(other=others[rng.integers(len(others))])
            sentence = _sentence(expression)
            stem = f'{prefix}_{scene_index}_{index}'
            file_id = stem + '.png' if with_ext else stem
            mask = scene.masks[index].astype(np.uint8) * 255
            if split == 'train' and len(lines['train']) == 0:
                mask = np.repeat(mask[..., None], 3, axis=2)
            elif split == 'train' and len(lines['train']) == 1:
                mask = mask // 255
                sentence = sentence.replace(' ', '  ', 1)[:-1] + ' .'
            Image.fromarray(scene.image).save(osp.join(out_dir, img_dir, stem + '.png'))
            Image.fromarray(mask).save(osp.join(out_dir, mask_dir, stem + '.png'))
            lines[split].append(f'{file_id} {sentence}')
            targets.append(dict(target_record(scene, index, attr, sentence), file=file_id,
                                category=scene.objects[index].spec.name))
        records.append(dict(id=f'{prefix}_{scene_index}', split=split,
                            file=f'{img_dir}/{prefix}_{scene_index}_0.png',
                            objects=[object_record(o) for o in scene.objects], targets=targets,
                            no_target=[]))
    for split in SPLITS:
        written = [line + '\n' for line in lines[split]]
        if split == 'test' and written:
            written.insert(1, '\n')  # real phrase files have blank lines; readers skip them
        path = osp.join(out_dir, phrase_file.format(split=split))
        with open(path, 'w', encoding='utf-8') as f:
            f.writelines(written)
    expressions = [t['expression'] for r in records for t in r['targets']]
    vocab_file = build_vocab(
        expressions + [template_text(RISBENCH_SPECS), CONTEXT.format(other='')],
        osp.join(out_dir, 'bert_vocab'))
    result = summary('risbench', out_dir, size, RISBENCH_SPECS, records,
                     {split: len(lines[split]) for split in SPLITS}, [], vocab_file)
    result['layout'] = layout
    return result
