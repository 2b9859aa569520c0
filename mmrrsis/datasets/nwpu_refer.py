"""NWPU-Refer: REFER-style files with polygon masks, multi-target and no-target expressions."""
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .no_target_dataset import empty_rle
from .rrsisd import load_instances, load_refs, sentence_text
from .rrsishr import categories_of
from .utils import (MAX_LISTED_MISSING, category_by_first_match, check_data_root,
                    check_files_exist, check_not_empty, check_split, segmentation_rles)

NO_TARGET = 'no target'
LANGUAGES = ('en', 'zh', 'all')
# The file names of the release, then the older ones a third-party loader falls back to.
REFS_FILES = ('new_refs(unc).p', 'refs(unc).p')
ANN_FILES = ('new_instances.json', 'instances.json')
IMG_DIRS = ('image', 'image/image')
_CJK = re.compile(r'[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]')
_LATIN = re.compile(r'[A-Za-z]')


def sentence_language(text: str) -> str:
    """'zh' (CJK characters, no Latin letters), 'en' (Latin letters, no CJK), else 'mixed'."""
    cjk, latin = bool(_CJK.search(text)), bool(_LATIN.search(text))
    if cjk and not latin:
        return 'zh'
    if latin and not cjk:
        return 'en'
    return 'mixed'


def _first_existing(data_root: str, names: Tuple[str, ...], what: str, check) -> str:
    for name in names:
        if check(osp.join(data_root, name)):
            return name
    raise FileNotFoundError(f'NWPU-Refer {what} is missing: none of '
                            f'{[osp.join(data_root, n) for n in names]} exists')


@DATASETS.register_module()
class NWPUReferDataset(BaseSegDataset):
    """NWPU-Refer (MRSNet, arXiv 2506.03583); one sample per expression of a ref group.

    Layout (``data_root``)::

        new_refs(unc).p            list of ref dicts (ref_id, image_id, ann_id, category_id,
                                   split, sentences)
        new_instances.json         images (id, file_name, height, width), annotations
                                   (id, image_id, category_id, segmentation), categories
        image/<file_name>          or image/image/<file_name>

    No official loader or format description exists; the reading below follows two
    third-party loaders and fails on anything outside it (see README "Further benchmarks"):

    * ``refs(unc).p`` / ``instances.json`` are taken when the ``new_`` files are absent.
    * Masks are COCO polygons (several = their union, rasterised at the image's height x
      width) or RLE. A target annotation with an empty ``segmentation`` is an error (its
      ``bbox`` is not painted instead).
    * A ref is a no-target ref when its category (the ref's ``category_id``, else its
      annotation's) is the one named ``no target``; its mask is empty whatever its annotation
      holds, and its ``ann_id`` may be absent from the annotations. A ref and its annotation
      naming different categories is an error.
    * Multi-target: refs of one image and split that share an expression (whitespace
      normalised) form one sample whose mask is the union of their annotations
      (``merge_multi_target=True``); with False every ref is a sample of its own. A group
      mixing ``no target`` refs with object refs is an error.
    * A sentence is 'zh' with CJK characters and no Latin letters, 'en' with Latin letters
      and no CJK, else 'mixed'; ``language`` picks the samples ('all': every sentence).
    * Splits 'train', 'val', 'test'; refs with any other split value are counted and logged.

    ``metainfo['categories']`` holds the object classes of ``instances.json`` in id order,
    without ``no target``. A target sample's ``category`` is its refs' class (None, logged,
    when they differ); a no-target sample's is the class its (ref's) English expression names
    first (None when it names none), as for :class:`NoTargetDataset`. No-target samples carry
    ``has_target=False`` and an empty mask; the others ``has_target=True``.

    Args:
        data_root (str): Dataset folder.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        language (str): 'en', 'zh' or 'all'. Defaults to 'en'.
        merge_multi_target (bool): One sample per expression shared by several refs, with the
            union mask. Defaults to True.
        refs_file (str, optional): Refs pickle relative to ``data_root``. Defaults to None:
            'new_refs(unc).p', else 'refs(unc).p'.
        img_dir (str, optional): Image folder relative to ``data_root``. Defaults to None:
            'image', or 'image/image' when the images lie there.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`; ``ann_file`` defaults to
            'new_instances.json', else 'instances.json'.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=None)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 language: str = 'en',
                 merge_multi_target: bool = True,
                 refs_file: Optional[str] = None,
                 img_dir: Optional[str] = None,
                 **kwargs) -> None:
        check_split(split, 'NWPUReferDataset')
        check_data_root(data_root, 'NWPUReferDataset')
        if language not in LANGUAGES:
            raise ValueError(f'NWPUReferDataset: unknown language "{language}"; choose one of '
                             f'{LANGUAGES}')
        self.split = split
        self.language = language
        self.merge_multi_target = merge_multi_target
        refs_file = refs_file or _first_existing(data_root, REFS_FILES, 'refs file', osp.isfile)
        self.refs_file = osp.join(data_root, refs_file)
        if 'ann_file' not in kwargs:
            kwargs['ann_file'] = _first_existing(data_root, ANN_FILES, 'annotation file',
                                                 osp.isfile)
        self._img_dir = img_dir
        self.category_names: Dict[int, str] = {}
        kwargs.setdefault('data_prefix', dict(img_path='', seg_map_path=''))
        super().__init__(data_root=data_root, **kwargs)

    def _image_folder(self, file_names: List[str]) -> str:
        """``img_dir``, else the first of 'image', 'image/image' holding the first image."""
        if self._img_dir is not None:
            return osp.join(self.data_root, self._img_dir)
        for name in IMG_DIRS:
            if file_names and osp.isfile(osp.join(self.data_root, name, file_names[0])):
                return osp.join(self.data_root, name)
        return osp.join(self.data_root, IMG_DIRS[0])

    def load_data_list(self) -> List[dict]:
        """Reads refs and annotations, groups refs by expression, one entry per group."""
        refs = load_refs(self.refs_file, 'NWPU-Refer')
        instances = load_instances(self.ann_file, 'NWPU-Refer')
        names = categories_of(instances, self.ann_file, 'NWPU-Refer')
        self.category_names = names
        no_target_ids = {i for i, n in names.items() if n.strip().lower() == NO_TARGET}
        objects = tuple(names[i] for i in sorted(names) if i not in no_target_ids)
        self._metainfo['categories'] = objects
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}

        other_splits = Counter(str(r.get('split')) for r in refs
                               if r.get('split') not in ('train', 'val', 'test'))
        groups: Dict[tuple, dict] = {}
        missing_anns, no_language, dropped = [], 0, Counter()
        for ref in refs:
            if ref.get('split') != self.split:
                continue
            where = f'{self.refs_file} (ref_id {ref.get("ref_id")})'
            unit = self._read_ref(ref, where, images, anns, names, no_target_ids, missing_anns)
            if unit is None:
                continue
            sentences = ref['sentences']
            chosen = 0
            for i, sent in enumerate(sentences):
                text = sentence_text(sent)
                if not text:
                    raise ValueError(f'{where}: sentence {i} is empty')
                lang = sentence_language(text)
                if self.language != 'all' and lang != self.language:
                    dropped[lang] += 1
                    continue
                chosen += 1
                normalised = ' '.join(text.split())
                key = (ref['image_id'], normalised) if self.merge_multi_target else \
                    (ref.get('ref_id'), i)
                group = groups.setdefault(key, dict(expression=text, language=lang, units=[],
                                                    sent_id=None))
                if group['sent_id'] is None and isinstance(sent, dict):
                    group['sent_id'] = sent.get('sent_id')
                group['units'].append(unit)
            no_language += chosen == 0
        if missing_anns:
            listed = ', '.join(str(r) for r in missing_anns[:MAX_LISTED_MISSING])
            raise ValueError(f'NWPU-Refer: {len(missing_anns)} ref(s) of {self.refs_file} point '
                             f'at annotations {self.ann_file} does not contain, and their '
                             f'category is not "{NO_TARGET}": (ref_id, ann_id) {listed}')

        data_list, mixed_categories = [], 0
        for group in groups.values():
            sample, mixed = self._sample(group, objects)
            mixed_categories += mixed
            data_list.append(sample)
        check_not_empty(data_list, f'NWPU-Refer {self.split} ({self.language})', self.refs_file)
        check_files_exist((d['img_path'] for d in data_list), 'NWPU-Refer image',
                          self.refs_file)
        self._log(data_list, other_splits, no_language, dropped, mixed_categories)
        return data_list

    def _read_ref(self, ref: dict, where: str, images: dict, anns: dict, names: dict,
                  no_target_ids: set, missing_anns: list) -> Optional[dict]:
        """The image, category and mask (RLE list) of one ref; None when its annotation is
        missing (recorded in ``missing_anns``)."""
        for key in ('image_id', 'sentences'):
            if key not in ref:
                raise ValueError(f'{where} lacks the key "{key}"')
        if not isinstance(ref['sentences'], list) or not ref['sentences']:
            raise ValueError(f'{where} has no sentences')
        image = images.get(ref['image_id'])
        if image is None or 'file_name' not in image:
            raise ValueError(f'{where} names image_id {ref["image_id"]}, which {self.ann_file} '
                             'does not list with a file_name')
        ann = anns.get(ref.get('ann_id'))
        category_id = ref.get('category_id')
        if ann is not None and ann.get('category_id') is not None:
            if category_id is None:
                category_id = ann['category_id']
            elif ann['category_id'] != category_id:
                raise ValueError(
                    f'{where} has category_id {category_id} ({names.get(category_id)!r}) but '
                    f'its annotation {ann["id"]} in {self.ann_file} has '
                    f'{ann["category_id"]} ({names.get(ann["category_id"])!r})')
        if category_id not in names:
            raise ValueError(f'{where} has category_id {category_id!r}, which is not one of the '
                             f'categories of {self.ann_file} {sorted(names)}')
        has_target = category_id not in no_target_ids
        english = [sentence_text(s) for s in ref['sentences']
                   if sentence_language(sentence_text(s)) == 'en']
        unit = dict(ref_id=ref.get('ref_id'), ann_id=ref.get('ann_id'), image=image,
                    category_id=category_id, category=names[category_id],
                    has_target=has_target, rle=None, english=english[0] if english else None)
        if not has_target:
            return unit
        if ann is None:
            missing_anns.append((ref.get('ref_id'), ref.get('ann_id')))
            return None
        if ann.get('image_id') != ref['image_id']:
            raise ValueError(f'{where} is on image {ref["image_id"]} but its annotation '
                             f'{ann["id"]} in {self.ann_file} on image {ann.get("image_id")}')
        unit['rle'] = segmentation_rles(
            ann.get('segmentation'), image.get('height'), image.get('width'),
            f'{self.ann_file}: annotation {ann["id"]} (used by {where})')
        return unit

    def _sample(self, group: dict, objects: Tuple[str, ...]) -> Tuple[dict, bool]:
        """The data entry of a ref group, and whether its refs name different classes."""
        units = group['units']
        flags = {u['has_target'] for u in units}
        ref_ids = [u['ref_id'] for u in units]
        if len(flags) > 1:
            raise ValueError(f'NWPU-Refer: {self.refs_file} refs {ref_ids} share the expression '
                             f'"{group["expression"]}" on image {units[0]["image"]["id"]}, but '
                             f'some are "{NO_TARGET}" and some are objects')
        has_target = flags.pop()
        image = units[0]['image']
        rle, mixed = [], False
        if has_target:
            seen = set()
            for u in units:
                if u['ann_id'] not in seen:
                    seen.add(u['ann_id'])
                    rle += u['rle']
            sizes = {tuple(r['size']) for r in rle}
            if len(sizes) > 1:
                raise ValueError(f'NWPU-Refer: the masks of refs {ref_ids} in {self.ann_file} '
                                 f'differ in size {sorted(sizes)}')
            classes = {u['category'] for u in units}
            mixed = len(classes) > 1
            category = None if mixed else classes.pop()
        else:
            rle = empty_rle()
            english = group['expression'] if group['language'] == 'en' else units[0]['english']
            category = category_by_first_match(english, {n: n for n in objects}) \
                if english else None
        sample = dict(
            img_path=osp.join(self._image_folder([image['file_name']]), image['file_name']),
            seg_map_path=None,
            rle=rle,
            image_id=image['id'],
            ref_id=ref_ids[0],
            ref_ids=ref_ids,
            ann_id=units[0]['ann_id'],
            ann_ids=list(dict.fromkeys(u['ann_id'] for u in units)),
            sent_id=group['sent_id'],
            expression=group['expression'],
            language=group['language'],
            category_id=units[0]['category_id'],
            category=category,
            has_target=has_target,
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        return sample, mixed

    def _log(self, data_list: List[dict], other_splits: Counter, no_language: int,
             dropped: Counter, mixed_categories: int) -> None:
        name = f'NWPU-Refer {self.split}'
        multi = sum(len(d['ann_ids']) > 1 for d in data_list if d['has_target'])
        negatives = sum(not d['has_target'] for d in data_list)
        folder = osp.relpath(osp.dirname(data_list[0]['img_path']), self.data_root)
        print_log(f'{name}: {len(data_list)} expressions ({self.language}) from {self.refs_file}, '
                  f'images in {folder}/; {multi} multi-target (union of several refs), '
                  f'{negatives} no-target', logger='current')
        if other_splits:
            listed = ', '.join(f'"{s}": {n}' for s, n in sorted(other_splits.items()))
            print_log(f'NWPU-Refer: refs with a split other than train/val/test are not loaded '
                      f'({listed})', logger='current')
        if dropped:
            listed = ', '.join(f'{lang} {n}' for lang, n in sorted(dropped.items()))
            print_log(f'{name}: sentences not in language "{self.language}" left out ({listed}); '
                      f'{no_language} ref(s) have none in it', logger='current')
        if mixed_categories:
            print_log(f'{name}: {mixed_categories} multi-target expression(s) cover refs of '
                      'different classes; their category is None', logger='current')
