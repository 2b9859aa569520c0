"""RefSegRS: tif images and masks, one phrase file per split."""
import os.path as osp
from typing import List, Tuple

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from mmrrsis.registry import DATASETS
from .utils import (category_from_expression, check_data_root, check_files_exist,
                    check_not_empty, check_split)

REFSEGRS_CATEGORIES = ('road', 'vehicle', 'car', 'van', 'building', 'truck', 'trailer', 'bus',
                       'road marking', 'bikeway', 'sidewalk', 'low vegetation',
                       'impervious surface', 'tree')


def read_phrase_file(path: str, dataset: str = 'RefSegRS') -> List[Tuple[int, str, str]]:
    """Reads a RefSegRS phrase file: "<id> <expression>" per line, split on the first space.

    Args:
        path (str): The ``output_phrase_<split>.txt`` file.
        dataset (str): Dataset name for the messages (RISBench shares the format).
            Defaults to 'RefSegRS'.

    Returns:
        list[tuple[int, str, str]]: (line number from 1, image id, stripped expression) of every
        non-blank line; the expression may be empty (callers decide what that means).

    Raises:
        FileNotFoundError: When the file is missing.
        ValueError: When a line is not UTF-8 text; names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{dataset} phrase file {path} is missing')
    with open(path, 'rb') as f:
        raw_lines = f.read().splitlines()
    entries = []
    for line_no, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode('utf-8').strip()
        except UnicodeDecodeError as e:
            raise ValueError(f'{path}, line {line_no}: not UTF-8 text ({e}); re-save the file '
                             'as UTF-8') from e
        if not line:
            continue  # blank separator lines carry no sample
        img_id, _, expression = line.partition(' ')
        entries.append((line_no, img_id, expression.strip()))
    return entries


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
        categories = self._metainfo['categories']
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix['seg_map_path']
        data_list = []
        for line_no, img_id, expression in read_phrase_file(self.ann_file):
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
                    line=line_no,
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        check_not_empty(data_list, f'RefSegRS {self.split}', self.ann_file)
        check_files_exist((d['img_path'] for d in data_list), 'RefSegRS image', self.ann_file)
        check_files_exist((d['seg_map_path'] for d in data_list), 'RefSegRS mask', self.ann_file)
        print_log(f'RefSegRS {self.split}: {len(data_list)} expressions', logger='current')
        return data_list
