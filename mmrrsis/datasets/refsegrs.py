"""RefSegRS: tif images and masks, one phrase file per split."""
import os.path as osp
from typing import List

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .utils import category_from_expression, check_data_root, check_files_exist, check_split

REFSEGRS_CATEGORIES = ('road', 'vehicle', 'car', 'van', 'building', 'truck', 'trailer', 'bus',
                       'road marking', 'bikeway', 'sidewalk', 'low vegetation',
                       'impervious surface', 'tree')


@DATASETS.register_module()
class RefSegRSDataset(BaseSegDataset):
    """RefSegRS referring segmentation dataset; one sample per expression line.

    Layout (``data_root``)::

        images/<id>.tif                RGB image
        masks/<id>.tif                 target mask, binarised by the loading transform
        output_phrase_<split>.txt      "<id> <expression>" per line

    The segmentation classes are background/target; the 14 object categories are carried
    in ``metainfo['categories']`` and each sample's ``category`` is the longest category
    name found in its expression (the dataset has no category field).

    Args:
        data_root (str): Dataset folder.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=REFSEGRS_CATEGORIES)

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        check_split(split, 'RefSegRSDataset')
        check_data_root(data_root, 'RefSegRSDataset')
        self.split = split
        kwargs.setdefault('data_prefix', dict(img_path='images', seg_map_path='masks'))
        kwargs.setdefault('ann_file', f'output_phrase_{split}.txt')
        kwargs.setdefault('img_suffix', '.tif')
        kwargs.setdefault('seg_map_suffix', '.tif')
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parses the phrase file: split on the first space, the rest is the expression."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'RefSegRS phrase file {self.ann_file} is missing')
        categories = self._metainfo['categories']
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix['seg_map_path']
        data_list = []
        with open(self.ann_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue  # blank separator lines carry no sample
                img_id, _, expression = line.strip().partition(' ')
                expression = expression.strip()
                if not expression:
                    raise ValueError(f'{self.ann_file}, line {line_no}: image id "{img_id}" '
                                     'has an empty expression')
                data_list.append(
                    dict(
                        img_path=osp.join(img_dir, img_id + self.img_suffix),
                        seg_map_path=osp.join(ann_dir, img_id + self.seg_map_suffix),
                        image_id=img_id,
                        expression=expression,
                        category=category_from_expression(expression, categories),
                        ref_id=len(data_list),
                        label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[]))
        check_files_exist((d['img_path'] for d in data_list), 'RefSegRS image', self.ann_file)
        check_files_exist((d['seg_map_path'] for d in data_list), 'RefSegRS mask', self.ann_file)
        print_log(f'RefSegRS {self.split}: {len(data_list)} expressions', logger='current')
        return data_list
