"""A dataset wrapper that adds no-target samples: expressions whose object the image lacks."""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Set, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from pycocotools import mask as mask_utils

from mmrrsis.registry import DATASETS
from .refsegrs import RefSegRSDataset, read_phrase_file
from .rrsisd import RRSISDDataset, load_instances
from .utils import category_from_expression

# Keys a no-target sample takes from a sample of its image.
IMAGE_KEYS = ('img_path', 'image_id', 'label_map', 'reduce_zero_label')
# Draws per sampled negative before giving up: an image may already hold most categories.
MAX_DRAWS = 100


def empty_rle() -> List[dict]:
    """An all-background mask as a one-pixel RLE list; ``LoadReferringAnnotations`` resizes
    it (nearest) to the image, which keeps it all background."""
    rle = mask_utils.encode(np.zeros((1, 1), dtype=np.uint8, order='F'))
    return [dict(size=[1, 1], counts=rle['counts'].decode('ascii'))]


@DATASETS.register_module()
class NoTargetDataset:
    """Adds no-target samples to a referring dataset; its own samples stay as they are.

    A no-target sample pairs an image with an expression whose object the image does not
    show. Its mask is empty (all background), its metainfo carries ``has_target=False``
    (``PackReferringInputs`` packs it; samples without the key have a target), and its
    ``category`` is the category the expression names, so :class:`RRSISMetric` reports
    N-acc, T-acc, gIoU and cIoU besides the usual figures on the target samples.

    Indices ``0 .. len(dataset) - 1`` are the wrapped dataset's samples, unchanged (same
    info, same pipeline output); the negatives follow. They come from two sources:

    * ``negatives_file``: exact negatives listed in a JSON file, ``{"samples": [{"split",
      "image_id", "expression", "category"[, "category_id"]}, ...]}``, as the synthetic
      generator writes (``make_refsegrs(..., no_target_share=0.3)`` ->
      ``no_target.json``). The entries of the wrapped split are used, in file order.
    * ``ratio``: sampled category-level negatives. Each draw picks an image of the split
      and an expression of another sample of the same split whose category does not occur
      in that image: the expression of a car paired with an image without cars. An image's
      categories are those of its samples and, for :class:`RRSISDDataset`, of every
      annotation of the image in ``instances.json``; for :class:`RefSegRSDataset`, which has
      no category field, those named in any of the image's expressions in the phrase files
      of all splits (the longest category name in the expression, as its ``category``).
      Categories listed together in ``related_categories`` count as one. Expressions that
      name no known category are never used.

    Limitation of the sampled negatives: the annotations list the objects someone referred
    to, not every object in the image. An RRSIS-D image annotates only its referred
    objects and a RefSegRS image only the categories its expressions name, so a sampled
    "the white car" may land on an image with an unreferred white car. The listed
    negatives of the synthetic generator know every drawn object and are exact.

    The negatives depend only on the wrapped split's samples, the file and ``seed``: the
    same arguments give the same negatives in every run, and train, val and test each get
    their own.

    Args:
        dataset (dict | BaseDataset): The dataset (one split) or its config.
        ratio (float): Share of the sampled negatives among the wrapped samples plus the
            sampled negatives, in [0, 1): 0.3 adds 3 negatives per 7 samples. Defaults to 0.
        negatives_file (str, optional): JSON file of listed negatives, relative to the
            wrapped dataset's ``data_root`` unless absolute. Defaults to None.
        seed (int): Seed of the sampled negatives. Defaults to 0.
        related_categories (Sequence[Sequence[str]]): Groups of category names that count as
            present together (RefSegRS: ``('vehicle', 'car', 'van', 'truck', 'trailer',
            'bus')``, since "the vehicle" may be a car). Defaults to ().
        lazy_init (bool): Defer loading the annotations and choosing the negatives to
            :meth:`full_init`. Defaults to False.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 ratio: float = 0.0,
                 negatives_file: Optional[str] = None,
                 seed: int = 0,
                 related_categories: Sequence[Sequence[str]] = (),
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            self.dataset = DATASETS.build(dataset)
        elif isinstance(dataset, BaseDataset):
            self.dataset = dataset
        else:
            raise TypeError(f'NoTargetDataset: dataset must be a config dict or a BaseDataset, '
                            f'got {type(dataset).__name__}')
        if not 0 <= ratio < 1:
            raise ValueError(f'NoTargetDataset: ratio must lie in [0, 1), got {ratio}')
        if ratio == 0 and negatives_file is None:
            raise ValueError('NoTargetDataset adds nothing: give ratio > 0 (sampled negatives) '
                             'or a negatives_file (listed ones)')
        self.ratio = ratio
        self.negatives_file = negatives_file
        self.seed = seed
        self.related_categories = [set(group) for group in related_categories]
        self._metainfo = self.dataset.metainfo
        self.negatives: List[dict] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo (classes, palette, categories)."""
        return copy.deepcopy(self._metainfo)

    @property
    def pipeline(self):
        """The wrapped dataset's pipeline, which the negatives go through too."""
        return self.dataset.pipeline

    def full_init(self) -> None:
        """Loads the wrapped dataset and chooses the negatives."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        infos = [self.dataset.get_data_info(i) for i in range(len(self.dataset))]
        for info in infos:
            info.pop('sample_idx', None)
        by_image: Dict[str, dict] = {}
        for info in infos:
            by_image.setdefault(self._image_key(info), info)
        listed = self._listed_negatives(by_image) if self.negatives_file else []
        sampled = self._sampled_negatives(infos, by_image, listed) if self.ratio > 0 else []
        self.negatives = listed + sampled
        print_log(f'NoTargetDataset: {len(self.dataset)} samples with a target, '
                  f'{len(listed)} listed and {len(sampled)} sampled no-target samples',
                  logger='current')
        self._fully_initialized = True

    @staticmethod
    def _image_key(info: dict) -> str:
        return str(info.get('image_id', info['img_path']))

    def _split(self) -> str:
        split = getattr(self.dataset, 'split', None)
        if split is None:
            raise ValueError(f'NoTargetDataset: {type(self.dataset).__name__} has no `split`, '
                             f'which selects the entries of {self.negatives_file}')
        return split

    def _negative(self, image_info: dict, expression: str, category: Optional[str],
                  category_id: Optional[int] = None) -> dict:
        info = {key: image_info[key] for key in IMAGE_KEYS if key in image_info}
        info.update(seg_map_path=None, rle=empty_rle(), expression=expression,
                    category=category, has_target=False, seg_fields=[])
        if category_id is not None:
            info['category_id'] = category_id
        return info

    def _listed_negatives(self, by_image: Dict[str, dict]) -> List[dict]:
        """The entries of ``negatives_file`` for the wrapped split, checked."""
        path = self.negatives_file
        if not osp.isabs(path):
            path = osp.join(self.dataset.data_root or '', path)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'NoTargetDataset: negatives_file {path} is missing; the synthetic generator '
                'writes it with --no-target-share (tools/dataset_converters/make_synthetic.py)')
        with open(path, encoding='utf-8') as f:
            entries = json.load(f).get('samples')
        if not isinstance(entries, list):
            raise ValueError(f'NoTargetDataset: {path} has no "samples" list')
        split = self._split()
        categories = self._metainfo.get('categories')
        negatives = []
        for i, entry in enumerate(entries):
            if entry.get('split') != split:
                continue
            where = f'{path}, sample {i} ({entry})'
            image = by_image.get(str(entry.get('image_id')))
            if image is None:
                raise ValueError(f'NoTargetDataset: {where} names image_id '
                                 f'{entry.get("image_id")!r}, which has no sample in the '
                                 f'{split} split')
            expression = str(entry.get('expression', '')).strip()
            if not expression:
                raise ValueError(f'NoTargetDataset: {where} has no expression')
            category = entry.get('category')
            if categories is not None and category not in categories:
                raise ValueError(f'NoTargetDataset: {where} names category {category!r}, '
                                 f'which is not one of the dataset\'s {list(categories)}')
            negatives.append(self._negative(image, expression, category,
                                            entry.get('category_id')))
        return negatives

    def _related(self, names: Set[str]) -> Set[str]:
        for group in self.related_categories:
            if names & group:
                names = names | group
        return names

    def _image_categories(self, infos: List[dict]) -> Dict[str, Set[str]]:
        """Every category known to occur in each image, from the sources the class names."""
        found: Dict[str, Set[str]] = {}
        for info in infos:
            found.setdefault(self._image_key(info), set())
            if info.get('category') is not None:
                found[self._image_key(info)].add(info['category'])
        categories = self._metainfo.get('categories') or ()
        if isinstance(self.dataset, RRSISDDataset):
            # id -> name as the dataset read it (RRSIS-D: index into its categories)
            names = self.dataset.category_names
            for ann in load_instances(self.dataset.ann_file)['annotations']:
                index = ann.get('categories_id', ann.get('category_id'))
                key = str(ann.get('image_id'))
                if key in found and isinstance(index, int) and index in names:
                    found[key].add(names[index])
        elif isinstance(self.dataset, RefSegRSDataset):
            ann_dir = osp.dirname(self.dataset.ann_file)
            for split in ('train', 'val', 'test'):
                path = osp.join(ann_dir, f'output_phrase_{split}.txt')
                if not osp.isfile(path):
                    continue
                for _, img_id, expression in read_phrase_file(path):
                    name = category_from_expression(expression, categories)
                    if img_id in found and name is not None:
                        found[img_id].add(name)
        return {key: self._related(names) for key, names in found.items()}

    def _sampled_negatives(self, infos: List[dict], by_image: Dict[str, dict],
                           listed: List[dict]) -> List[dict]:
        """``ratio``-many category-level negatives, drawn with ``seed``."""
        count = int(round(self.ratio / (1 - self.ratio) * len(infos)))
        present = self._image_categories(infos)
        images = list(by_image)
        usable = [i for i, info in enumerate(infos) if info.get('category') is not None]
        rng = np.random.default_rng(self.seed)
        taken = {(self._image_key(n), n['expression']) for n in listed}
        negatives = []
        for _ in range(count):
            for _ in range(MAX_DRAWS):
                key = images[rng.integers(len(images))]
                source = infos[usable[rng.integers(len(usable))]] if usable else None
                if source is None or source['category'] in present[key] or \
                        (key, source['expression']) in taken:
                    continue
                taken.add((key, source['expression']))
                negatives.append(self._negative(by_image[key], source['expression'],
                                                source['category'], source.get('category_id')))
                break
            else:
                raise RuntimeError(
                    f'NoTargetDataset: found only {len(negatives)} of {count} no-target pairs '
                    f'in {MAX_DRAWS} draws each: the {len(images)} images hold most of the '
                    'categories their split\'s expressions name; lower ratio')
        return negatives

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self.dataset) + len(self.negatives)

    def get_data_info(self, idx: int) -> dict:
        """The info of sample ``idx``: the wrapped dataset's, or a no-target one's."""
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            idx += len(self)
        if idx < len(self.dataset):
            return self.dataset.get_data_info(idx)
        if idx >= len(self):
            raise IndexError(f'NoTargetDataset: index {idx} out of range for {len(self)} samples')
        info = copy.deepcopy(self.negatives[idx - len(self.dataset)])
        info['sample_idx'] = idx
        return info

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            idx += len(self)
        if idx < len(self.dataset):
            return self.dataset[idx]
        data = self.dataset.pipeline(self.get_data_info(idx))
        if data is None:
            raise ValueError(f'NoTargetDataset: the pipeline dropped no-target sample {idx} '
                             f'({self.negatives[idx - len(self.dataset)]["img_path"]})')
        return data
