"""RRSIS-HR: the REFER layout of RRSIS-D under the key ``rrsishr``, 1024x1024 images."""
from typing import Dict

from mmrrsis.registry import DATASETS
from .rrsisd import RRSISDDataset


def categories_of(instances: dict, ann_file: str, dataset: str) -> Dict[int, str]:
    """Category id -> name from the ``categories`` list of a COCO-style json.

    Raises:
        ValueError: When the list is missing or an entry lacks an int ``id`` or a ``name``,
            naming the file and the entry.
    """
    entries = instances.get('categories')
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{dataset} annotation file {ann_file} has no "categories" list, which '
                         'names the classes')
    names = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get('id'), int) or \
                not isinstance(entry.get('name'), str):
            raise ValueError(f'{dataset} annotation file {ann_file}: categories entry {i} '
                             f'({entry!r}) lacks an int "id" or a "name"')
        if entry['id'] in names:
            raise ValueError(f'{dataset} annotation file {ann_file}: category id {entry["id"]} '
                             f'is listed twice ({names[entry["id"]]!r}, {entry["name"]!r})')
        names[entry['id']] = entry['name']
    return names


@DATASETS.register_module()
class RRSISHRDataset(RRSISDDataset):
    """RRSIS-HR (CADFormer, JSTARS 2025), read as :class:`RRSISDDataset` reads RRSIS-D.

    Layout (``data_root``)::

        rrsishr/refs(unc).p                      list of ref dicts
        rrsishr/instances.json                   images, annotations, categories
        images/rrsishr/JPEGImages/<file_name>

    Differences from RRSIS-D: the 7 class names are not known outside the file, so
    ``metainfo['categories']`` is read from ``instances.json`` (names in id order) and a
    sample's ``category`` is the name of its ref's ``category_id``; an annotation's
    ``segmentation`` may be COCO polygons (several mean their union, rasterised at the image's
    height and width) or RLE. The Kaggle re-upload keeps the files directly in ``data_root``:
    ``refs_file='refs(unc).p', ann_file='instances.json'`` and the image folder as
    ``data_prefix``.

    Args:
        See :class:`RRSISDDataset`; ``dataset_key`` defaults to 'rrsishr'.
    """
    METAINFO = dict(
        classes=('background', 'target'),
        palette=[[0, 0, 0], [255, 64, 64]],
        categories=None)
    NAME = 'RRSIS-HR'
    DATASET_KEY = 'rrsishr'
    POLYGONS = True

    def _category_names(self, instances: dict) -> Dict[int, str]:
        """The id -> name map of ``instances.json``, also set as ``metainfo['categories']``."""
        names = categories_of(instances, self.ann_file, self.NAME)
        self._metainfo['categories'] = tuple(names[i] for i in sorted(names))
        return names
