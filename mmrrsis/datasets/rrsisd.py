"""RRSIS-D: JPEG images, a refs pickle and a COCO-style json with RLE masks."""
import json
import os.path as osp
import pickle
from typing import List

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .utils import check_data_root, check_files_exist, check_split

RRSISD_CATEGORIES = ('Expressway-Service-area', 'Expressway-toll-station', 'airplane', 'airport',
                     'baseballfield', 'basketballcourt', 'bridge', 'chimney', 'dam', 'golffield',
                     'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
                     'tenniscourt', 'trainstation', 'vehicle', 'windmill')


@DATASETS.register_module()
class RRSISDDataset(BaseSegDataset):
    """RRSIS-D referring segmentation dataset; one sample per sentence of each ref.

    Layout (``data_root``)::

        rrsisd/refs(unc).p                      list of ref dicts (split, sentences, ann_id...)
        rrsisd/instances.json                   images, annotations (RLE list), categories
        images/rrsisd/JPEGImages/<file>.jpg

    Masks stay RLE in the data list and are decoded by ``LoadReferringAnnotations``. Some
    real masks have an RLE size that differs from their JPEG (800x800 vs 800x801); they are
    resized (nearest) to the image and their number is logged once here.

    Args:
        data_root (str): Dataset folder.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        refs_file (str): Refs pickle relative to ``data_root``. Defaults to 'rrsisd/refs(unc).p'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=RRSISD_CATEGORIES)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 refs_file: str = 'rrsisd/refs(unc).p',
                 **kwargs) -> None:
        check_split(split, 'RRSISDDataset')
        check_data_root(data_root, 'RRSISDDataset')
        self.split = split
        self.refs_file = osp.join(data_root, refs_file)
        kwargs.setdefault('data_prefix', dict(img_path='images/rrsisd/JPEGImages', seg_map_path=''))
        kwargs.setdefault('ann_file', 'rrsisd/instances.json')
        super().__init__(data_root=data_root, **kwargs)

    def _load_refs(self) -> list:
        if not osp.isfile(self.refs_file):
            raise FileNotFoundError(f'RRSIS-D refs file {self.refs_file} is missing')
        try:
            with open(self.refs_file, 'rb') as f:
                refs = pickle.load(f)
        except Exception as e:
            raise ValueError(f'RRSIS-D refs file {self.refs_file} cannot be read '
                             f'(corrupt or truncated?): {type(e).__name__}: {e}') from e
        if not isinstance(refs, list):
            raise ValueError(f'RRSIS-D refs file {self.refs_file} holds a '
                             f'{type(refs).__name__}, expected a list of ref dicts')
        return refs

    def _load_instances(self) -> dict:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'RRSIS-D annotation file {self.ann_file} is missing')
        try:
            with open(self.ann_file, encoding='utf-8') as f:
                instances = json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f'RRSIS-D annotation file {self.ann_file} is not valid JSON: {e}') from e
        for key in ('images', 'annotations'):
            if key not in instances:
                raise ValueError(f'RRSIS-D annotation file {self.ann_file} has no "{key}" list '
                                 f'(found keys: {sorted(instances)})')
        return instances

    def load_data_list(self) -> List[dict]:
        """Joins refs with their annotation and image records; one entry per sentence."""
        refs = self._load_refs()
        instances = self._load_instances()
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}
        categories = self._metainfo['categories']
        data_list, resized = [], 0
        for ref in refs:
            if ref.get('split') != self.split:
                continue
            where = f'{self.refs_file} (ref_id {ref.get("ref_id")})'
            missing_keys = [k for k in ('ann_id', 'image_id', 'file_name', 'sentences') if k not in ref]
            if missing_keys:
                raise ValueError(f'{where} lacks the key(s) {missing_keys}')
            ann = anns.get(ref['ann_id'])
            if ann is None:
                raise ValueError(f'{where} points at annotation id {ref["ann_id"]}, '
                                 f'which {self.ann_file} does not contain')
            if 'segmentation' not in ann or not ann['segmentation']:
                raise ValueError(f'{self.ann_file}: annotation {ann["id"]} (used by {where}) '
                                 'has no segmentation')
            image = images.get(ref['image_id'], {})
            rle_size = list(ann['segmentation'][0]['size'])
            if image and rle_size != [image.get('height'), image.get('width')]:
                resized += 1
            category_id = ref.get('category_id', ann.get('categories_id'))
            category = (categories[category_id]
                        if isinstance(category_id, int) and 0 <= category_id < len(categories) else None)
            for sent in ref['sentences']:
                expression = str(sent.get('sent', sent.get('raw', ''))).strip()
                if not expression:
                    raise ValueError(f'{where}: sentence {sent.get("sent_id")} is empty')
                data_list.append(
                    dict(
                        img_path=osp.join(self.data_prefix['img_path'], ref['file_name']),
                        seg_map_path=None,
                        rle=ann['segmentation'],
                        image_id=ref['image_id'],
                        ann_id=ref['ann_id'],
                        ref_id=ref.get('ref_id'),
                        sent_id=sent.get('sent_id'),
                        expression=expression,
                        category_id=category_id,
                        category=category,
                        label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[]))
        check_files_exist((d['img_path'] for d in data_list), 'RRSIS-D image', self.refs_file)
        if resized:
            print_log(f'RRSIS-D {self.split}: {resized} mask(s) have an RLE size different from '
                      'their image; they will be resized (nearest) to the image size.',
                      logger='current')
        print_log(f'RRSIS-D {self.split}: {len(data_list)} expressions', logger='current')
        return data_list
