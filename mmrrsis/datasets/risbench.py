"""RISBench (CroBIM): PNG images and masks, one phrase file per split."""
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .refsegrs import read_phrase_file
from .utils import (category_by_first_match, check_data_root, check_listed_files_exist,
                    check_not_empty, check_split)

# The 26 classes in the order RSRefSeg2 lists them: the 20 DIOR classes and 6 DOTA-only ones.
RISBENCH_CATEGORIES = (
    'expressway service area', 'expressway toll station', 'ground track field',
    'basketball court', 'container crane', 'roundabout', 'windmill', 'overpass', 'stadium',
    'bridge', 'soccer ball field', 'baseball diamond', 'train station', 'golf field', 'airport',
    'harbor', 'dam', 'ship', 'helipad', 'vehicle', 'chimney', 'airplane', 'helicopter',
    'tennis court', 'storage tank', 'swimming pool')
# Other words RISBench expressions use for a class (see the README, "Further benchmarks").
RISBENCH_ALIASES = {
    'airplane': ('plane', 'aircraft'),
    'vehicle': ('small vehicle', 'large vehicle', 'car', 'truck', 'bus'),
    'baseball diamond': ('baseball field', ),
    'storage tank': ('storage-tank', 'tank'),
    'ground track field': ('ground-track field', 'ground track and field', 'track and field'),
    'soccer ball field': ('soccer-ball field', 'soccer field', 'soccer-ball-shaped field'),
    'golf field': ('golf course', ),
    'ship': ('vessel', 'boat'),
    'harbor': ('dock', 'pier'),
    'expressway toll station': ('toll station', ),
    'expressway service area': ('service area', ),
}
RISBENCH_LEXICON = {
    **{name: name for name in RISBENCH_CATEGORIES},
    **{alias: name for name, aliases in RISBENCH_ALIASES.items() for alias in aliases},
}
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp')
LAYOUTS = {
    # layout: (image folder, mask folder, phrase file pattern)
    'crobim': ('img_rgb', 'mask', 'output_phrase_{split}.txt'),
    'rsfm': ('images', 'masks', 'phrase_txts/output_phrase_{split}.txt'),
}
_SCENE = re.compile(r'^(.+_\d+)_\d+$')


def risbench_category(expression: str) -> Optional[str]:
    """The RISBench class an expression refers to: the earliest class name or alias in it."""
    return category_by_first_match(expression, RISBENCH_LEXICON)


def scene_of(file_name: str) -> str:
    """``'<prefix>_<scene>'`` of a ``<prefix>_<scene>_<object>.png`` name; else the stem."""
    stem = osp.splitext(file_name)[0]
    found = _SCENE.match(stem)
    return found.group(1) if found else stem


@DATASETS.register_module()
class RISBenchDataset(BaseSegDataset):
    """RISBench referring segmentation dataset (CroBIM); one sample per phrase-file line.

    Layouts (``data_root``)::

        layout='crobim' (the authors' download)    layout='rsfm' (RSFM / LSCF re-layout)
        img_rgb/<id>                               images/<id>.png
        mask/<id>                                  masks/<id>.png
        output_phrase_<split>.txt                  phrase_txts/output_phrase_<split>.txt

    Each line is ``"<id> <expression>"``. An id that ends in an image extension (the CroBIM
    files: ``train_0_0.png``) is the file name; otherwise ``img_suffix`` is appended. The split
    is the phrase file's: ``output_phrase_val.txt`` names ``train_*`` files. Masks are 0/255
    PNGs (sometimes 3-channel), read with ``LoadReferringAnnotations(mask_threshold=0)``.
    There is no category field: ``category`` is the class named first in the expression
    (:data:`RISBENCH_LEXICON`), or None. ``scene_id`` groups the files of one scene.

    Args:
        data_root (str): Dataset folder.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        layout (str): 'crobim' or 'rsfm'. Defaults to 'crobim'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=RISBENCH_CATEGORIES)

    def __init__(self, data_root: str, split: str = 'train', layout: str = 'crobim',
                 **kwargs) -> None:
        check_split(split, 'RISBenchDataset')
        if layout not in LAYOUTS:
            raise ValueError(f'RISBenchDataset: unknown layout "{layout}"; choose one of '
                             f'{tuple(LAYOUTS)}')
        check_data_root(data_root, 'RISBenchDataset')
        self.split = split
        self.layout = layout
        img_dir, mask_dir, phrase_file = LAYOUTS[layout]
        kwargs.setdefault('data_prefix', dict(img_path=img_dir, seg_map_path=mask_dir))
        kwargs.setdefault('ann_file', phrase_file.format(split=split))
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(data_root=data_root, **kwargs)

    def _file_name(self, img_id: str, suffix: str) -> str:
        return img_id if img_id.lower().endswith(IMAGE_EXTENSIONS) else img_id + suffix

    def load_data_list(self) -> List[dict]:
        """Parses the phrase file: split on the first space, the rest is the expression."""
        entries = read_phrase_file(self.ann_file, 'RISBench')
        source = osp.basename(self.ann_file)
        data_list, uncategorised = [], []
        ids: Dict[str, int] = {}
        duplicates = Counter()
        for line_no, img_id, expression in entries:
            if not expression:
                raise ValueError(f'{self.ann_file}, line {line_no}: image id "{img_id}" '
                                 'has an empty expression')
            if img_id in ids:
                duplicates[img_id] += 1
            ids.setdefault(img_id, line_no)
            category = risbench_category(expression)
            if category is None:
                uncategorised.append(line_no)
            data_list.append(
                dict(
                    img_path=osp.join(self.data_prefix['img_path'],
                                      self._file_name(img_id, self.img_suffix)),
                    seg_map_path=osp.join(self.data_prefix['seg_map_path'],
                                          self._file_name(img_id, self.seg_map_suffix)),
                    image_id=img_id,
                    scene_id=scene_of(img_id),
                    expression=expression,
                    category=category,
                    ref_id=len(data_list),
                    line=line_no,
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        check_not_empty(data_list, f'RISBench {self.split}', self.ann_file)
        check_listed_files_exist(
            [(d[key], f'{source}, line {d["line"]}') for d in data_list
             for key in ('img_path', 'seg_map_path')], 'RISBench image or mask')
        self._log_conversions(entries, duplicates, uncategorised)
        print_log(f'RISBench {self.split}: {len(data_list)} expressions', logger='current')
        return data_list

    def _log_conversions(self, entries: list, duplicates: Counter,
                         uncategorised: List[int]) -> None:
        """Logs, once each, the blank lines skipped, repeated ids and samples without a class."""
        numbers = [line_no for line_no, _, _ in entries]
        blank = [n for prev, nxt in zip([0] + numbers, numbers) for n in range(prev + 1, nxt)]
        if blank:
            print_log(f'RISBench {self.split}: {len(blank)} blank line(s) of {self.ann_file} '
                      f'skipped (first: line {blank[0]})', logger='current')
        if duplicates:
            first = next(iter(duplicates))
            print_log(f'RISBench {self.split}: {len(duplicates)} image id(s) listed more than '
                      f'once in {self.ann_file} (first: "{first}"); each line is kept as a '
                      'sample', logger='current')
        if uncategorised:
            print_log(f'RISBench {self.split}: {len(uncategorised)} expression(s) name none of '
                      f'the 26 classes (first: {self.ann_file}, line {uncategorised[0]}); their '
                      'category is None and they are left out of the per-category table',
                      logger='current')
