"""RRSIS-D: JPEG images, a refs pickle and a COCO-style json with RLE masks."""
import json
import os.path as osp
import pickle
from typing import Dict, List, Optional

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .utils import (check_data_root, check_files_exist, check_not_empty, check_split,
                    segmentation_rles)

RRSISD_CATEGORIES = ('Expressway-Service-area', 'Expressway-toll-station', 'airplane', 'airport',
                     'baseballfield', 'basketballcourt', 'bridge', 'chimney', 'dam', 'golffield',
                     'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
                     'tenniscourt', 'trainstation', 'vehicle', 'windmill')

REF_KEYS = ('ann_id', 'image_id', 'file_name', 'sentences')


def load_refs(refs_file: str, dataset: str = 'RRSIS-D') -> list:
    """Reads ``refs(unc).p``, naming the file (and ``dataset``) when it is missing, corrupt or
    not a list."""
    if not osp.isfile(refs_file):
        raise FileNotFoundError(f'{dataset} refs file {refs_file} is missing')
    try:
        with open(refs_file, 'rb') as f:
            refs = pickle.load(f)
    except Exception as e:
        raise ValueError(f'{dataset} refs file {refs_file} cannot be read '
                         f'(corrupt or truncated?): {type(e).__name__}: {e}') from e
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ValueError(f'{dataset} refs file {refs_file} holds a {type(refs).__name__}, '
                         'expected a list of ref dicts')
    return refs


def load_instances(ann_file: str, dataset: str = 'RRSIS-D') -> dict:
    """Reads ``instances.json`` and checks it has ``images`` and ``annotations`` lists."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{dataset} annotation file {ann_file} is missing')
    try:
        with open(ann_file, encoding='utf-8') as f:
            instances = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f'{dataset} annotation file {ann_file} is not valid JSON: {e}') from e
    if not isinstance(instances, dict):
        raise ValueError(f'{dataset} annotation file {ann_file} holds a '
                         f'{type(instances).__name__}, expected a COCO-style dict')
    for key in ('images', 'annotations'):
        if not isinstance(instances.get(key), list):
            raise ValueError(f'{dataset} annotation file {ann_file} has no "{key}" list '
                             f'(found keys: {sorted(instances)})')
    for key in ('images', 'annotations'):
        bad = [i for i, item in enumerate(instances[key])
               if not isinstance(item, dict) or 'id' not in item]
        if bad:
            raise ValueError(f'{dataset} annotation file {ann_file}: "{key}" entry {bad[0]} has '
                             f'no "id" ({len(bad)} such entries)')
    return instances


def rle_of(ann: dict) -> Optional[list]:
    """The annotation's segmentation as a list of COCO RLE dicts, or None when it is not RLE.

    RRSIS-D stores a list holding one RLE; a bare RLE dict is accepted too.
    """
    seg = ann.get('segmentation')
    if isinstance(seg, dict):
        seg = [seg]
    if not isinstance(seg, list) or not seg:
        return None
    if not all(isinstance(r, dict) and 'size' in r and 'counts' in r for r in seg):
        return None
    return seg


def ref_problem(ref: dict, anns: dict, where: str, ann_file: str,
                polygons: bool = False) -> Optional[str]:
    """Says what makes a ref unusable (missing keys, unknown or non-RLE annotation), or None.

    Args:
        ref (dict): One entry of ``refs(unc).p``.
        anns (dict): Annotations of ``instances.json`` by id.
        where (str): How to name the ref in the message (file and ref_id).
        ann_file (str): Path of ``instances.json``, for the message.
        polygons (bool): Whether COCO polygons are accepted besides RLE (they are checked when
            rasterised, see :func:`~mmrrsis.datasets.utils.segmentation_rles`).
            Defaults to False.
    """
    missing_keys = [k for k in REF_KEYS if k not in ref]
    if missing_keys:
        return f'{where} lacks the key(s) {missing_keys}'
    if not isinstance(ref['sentences'], list) or not ref['sentences']:
        return f'{where} has no sentences'
    ann = anns.get(ref['ann_id'])
    if ann is None:
        return f'{where} points at annotation id {ref["ann_id"]}, which {ann_file} does not contain'
    if polygons and isinstance(ann.get('segmentation'), list) and ann['segmentation'] and \
            all(isinstance(p, list) for p in ann['segmentation']):
        return None
    if rle_of(ann) is None:
        return (f'{ann_file}: annotation {ann["id"]} (used by {where}) has no RLE segmentation '
                '(expected a list of {"size", "counts"} dicts; polygons are not supported)')
    return None


def sentence_text(sent) -> str:
    """The expression of a sentence entry: ``sent``, else ``raw``, stripped."""
    if not isinstance(sent, dict):
        return str(sent).strip()
    return str(sent.get('sent', sent.get('raw', ''))).strip()


@DATASETS.register_module()
class RRSISDDataset(BaseSegDataset):
    """RRSIS-D referring segmentation dataset; one sample per sentence of each ref.

    Layout (``data_root``, ``<key>`` = ``dataset_key``, 'rrsisd')::

        <key>/refs(unc).p                      list of ref dicts (split, sentences, ann_id...)
        <key>/instances.json                   images, annotations (RLE list), categories
        images/<key>/JPEGImages/<file>.jpg

    Masks stay RLE in the data list and are decoded by ``LoadReferringAnnotations``. Some
    real masks have an RLE size that differs from their JPEG (800x800 vs 800x801); they are
    resized (nearest) to the image and their number is logged once here. Other datasets in
    this REFER layout subclass it with their key (:class:`RRSISHRDataset`).

    Args:
        data_root (str): Dataset folder.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        refs_file (str, optional): Refs pickle relative to ``data_root``. Defaults to None:
            '<dataset_key>/refs(unc).p'.
        dataset_key (str, optional): Folder name of the REFER layout. Defaults to None: the
            class's ``DATASET_KEY`` ('rrsisd').
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`; ``ann_file`` defaults to
            '<dataset_key>/instances.json' and ``data_prefix.img_path`` to
            'images/<dataset_key>/JPEGImages'.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=RRSISD_CATEGORIES)
    NAME = 'RRSIS-D'  # in messages
    DATASET_KEY = 'rrsisd'
    POLYGONS = False  # whether annotations may hold COCO polygons besides RLE

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 refs_file: Optional[str] = None,
                 dataset_key: Optional[str] = None,
                 **kwargs) -> None:
        check_split(split, type(self).__name__)
        check_data_root(data_root, type(self).__name__)
        self.split = split
        self.dataset_key = dataset_key or self.DATASET_KEY
        key = self.dataset_key
        self.refs_file = osp.join(data_root, refs_file or f'{key}/refs(unc).p')
        self.category_names: Dict[int, str] = {}
        kwargs.setdefault('data_prefix', dict(img_path=f'images/{key}/JPEGImages',
                                              seg_map_path=''))
        kwargs.setdefault('ann_file', f'{key}/instances.json')
        super().__init__(data_root=data_root, **kwargs)

    def _category_names(self, instances: dict) -> Dict[int, str]:
        """Category id -> name; RRSIS-D's ids index the ``categories`` of the metainfo."""
        return dict(enumerate(self._metainfo['categories']))

    def load_data_list(self) -> List[dict]:
        """Joins refs with their annotation and image records; one entry per sentence."""
        refs = load_refs(self.refs_file, self.NAME)
        instances = load_instances(self.ann_file, self.NAME)
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}
        self.category_names = self._category_names(instances)
        data_list, resized, uncategorised = [], 0, 0
        for ref in refs:
            if ref.get('split') != self.split:
                continue
            where = f'{self.refs_file} (ref_id {ref.get("ref_id")})'
            problem = ref_problem(ref, anns, where, self.ann_file, self.POLYGONS)
            if problem:
                raise ValueError(problem)
            ann = anns[ref['ann_id']]
            image = images.get(ref['image_id'], {})
            if self.POLYGONS:
                rle = segmentation_rles(
                    ann.get('segmentation'), image.get('height'), image.get('width'),
                    f'{self.ann_file}: annotation {ann["id"]} (used by {where})')
            else:
                rle = rle_of(ann)
            rle_size = list(rle[0]['size'])
            if image and rle_size != [image.get('height'), image.get('width')]:
                resized += 1
            category_id = ref.get('category_id', ann.get('categories_id', ann.get('category_id')))
            category = self.category_names.get(category_id) \
                if isinstance(category_id, int) else None
            uncategorised += len(ref['sentences']) if category is None else 0
            for i, sent in enumerate(ref['sentences']):
                expression = sentence_text(sent)
                sent_id = sent.get('sent_id') if isinstance(sent, dict) else None
                if not expression:
                    raise ValueError(f'{where}: sentence {i} (sent_id {sent_id}) is empty')
                data_list.append(
                    dict(
                        img_path=osp.join(self.data_prefix['img_path'], ref['file_name']),
                        seg_map_path=None,
                        rle=rle,
                        image_id=ref['image_id'],
                        ann_id=ref['ann_id'],
                        ref_id=ref.get('ref_id'),
                        sent_id=sent_id,
                        expression=expression,
                        category_id=category_id,
                        category=category,
                        label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[]))
        name = self.NAME
        check_not_empty(data_list, f'{name} {self.split}', self.refs_file)
        check_files_exist((d['img_path'] for d in data_list), f'{name} image', self.refs_file)
        if resized:
            print_log(f'{name} {self.split}: {resized} mask(s) have an RLE size different from '
                      'their image; they will be resized (nearest) to the image size.',
                      logger='current')
        if uncategorised:
            print_log(f'{name} {self.split}: {uncategorised} expression(s) have a category_id '
                      'that names no category; their category is None.', logger='current')
        print_log(f'{name} {self.split}: {len(data_list)} expressions', logger='current')
        return data_list
