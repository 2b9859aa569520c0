"""RRSIS-D: JPEG images, a refs pickle and a COCO-style json with RLE masks."""
import json
import os.path as osp
import pickle
from typing import List, Optional

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .utils import check_data_root, check_files_exist, check_not_empty, check_split

RRSISD_CATEGORIES = ('Expressway-Service-area', 'Expressway-toll-station', 'airplane', 'airport',
                     'baseballfield', 'basketballcourt', 'bridge', 'chimney', 'dam', 'golffield',
                     'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
                     'tenniscourt', 'trainstation', 'vehicle', 'windmill')

REF_KEYS = ('ann_id', 'image_id', 'file_name', 'sentences')


def load_refs(refs_file: str) -> list:
    """Reads ``refs(unc).p``, naming the file when it is missing, corrupt or not a list."""
    if not osp.isfile(refs_file):
        raise FileNotFoundError(f'RRSIS-D refs file {refs_file} is missing')
    try:
        with open(refs_file, 'rb') as f:
            refs = pickle.load(f)
    except Exception as e:
        raise ValueError(f'RRSIS-D refs file {refs_file} cannot be read '
                         f'(corrupt or truncated?): {type(e).__name__}: {e}') from e
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ValueError(f'RRSIS-D refs file {refs_file} holds a {type(refs).__name__}, '
                         'expected a list of ref dicts')
    return refs


def load_instances(ann_file: str) -> dict:
    """Reads ``instances.json`` and checks it has ``images`` and ``annotations`` lists."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'RRSIS-D annotation file {ann_file} is missing')
    try:
        with open(ann_file, encoding='utf-8') as f:
            instances = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f'RRSIS-D annotation file {ann_file} is not valid JSON: {e}') from e
    if not isinstance(instances, dict):
        raise ValueError(f'RRSIS-D annotation file {ann_file} holds a '
                         f'{type(instances).__name__}, expected a COCO-style dict')
    for key in ('images', 'annotations'):
        if not isinstance(instances.get(key), list):
            raise ValueError(f'RRSIS-D annotation file {ann_file} has no "{key}" list '
                             f'(found keys: {sorted(instances)})')
    for key in ('images', 'annotations'):
        bad = [i for i, item in enumerate(instances[key])
               if not isinstance(item, dict) or 'id' not in item]
        if bad:
            raise ValueError(f'RRSIS-D annotation file {ann_file}: "{key}" entry {bad[0]} has '
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


def ref_problem(ref: dict, anns: dict, where: str, ann_file: str) -> Optional[str]:
    """Says what makes a ref unusable (missing keys, unknown or non-RLE annotation), or None.

    Args:
        ref (dict): One entry of ``refs(unc).p``.
        anns (dict): Annotations of ``instances.json`` by id.
        where (str): How to name the ref in the message (file and ref_id).
        ann_file (str): Path of ``instances.json``, for the message.
    """
    missing_keys = [k for k in REF_KEYS if k not in ref]
    if missing_keys:
        return f'{where} lacks the key(s) {missing_keys}'
    if not isinstance(ref['sentences'], list) or not ref['sentences']:
        return f'{where} has no sentences'
    ann = anns.get(ref['ann_id'])
    if ann is None:
        return f'{where} points at annotation id {ref["ann_id"]}, which {ann_file} does not contain'
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

    def load_data_list(self) -> List[dict]:
        """Joins refs with their annotation and image records; one entry per sentence."""
        refs = load_refs(self.refs_file)
        instances = load_instances(self.ann_file)
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}
        categories = self._metainfo['categories']
        data_list, resized = [], 0
        for ref in refs:
            if ref.get('split') != self.split:
                continue
            where = f'{self.refs_file} (ref_id {ref.get("ref_id")})'
            problem = ref_problem(ref, anns, where, self.ann_file)
            if problem:
                raise ValueError(problem)
            ann = anns[ref['ann_id']]
            rle = rle_of(ann)
            image = images.get(ref['image_id'], {})
            rle_size = list(rle[0]['size'])
            if image and rle_size != [image.get('height'), image.get('width')]:
                resized += 1
            category_id = ref.get('category_id', ann.get('categories_id'))
            known = isinstance(category_id, int) and 0 <= category_id < len(categories)
            category = categories[category_id] if known else None
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
        check_not_empty(data_list, f'RRSIS-D {self.split}', self.refs_file)
        check_files_exist((d['img_path'] for d in data_list), 'RRSIS-D image', self.refs_file)
        if resized:
            print_log(f'RRSIS-D {self.split}: {resized} mask(s) have an RLE size different from '
                      'their image; they will be resized (nearest) to the image size.',
                      logger='current')
        print_log(f'RRSIS-D {self.split}: {len(data_list)} expressions', logger='current')
        return data_list
