"""Packs referring samples: mmseg's packing plus the expression and its category."""
from mmseg.datasets.transforms import PackSegInputs

from mmrrsis.registry import TRANSFORMS

REFERRING_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                       'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                       'expression', 'category', 'category_id', 'image_id', 'ref_id',
                       'ann_id', 'sent_id', 'key_phrase_spans', 'has_target')


@TRANSFORMS.register_module()
class PackReferringInputs(PackSegInputs):
    """``PackSegInputs`` whose default meta keys also carry the referring fields.

    The expression travels in each ``SegDataSample``'s metainfo; it is tokenized once per
    batch by :class:`ReferringDataPreProcessor`.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo when present.
            Defaults to mmseg's keys plus 'expression', 'category', 'category_id',
            'image_id', 'ref_id', 'ann_id', 'sent_id', 'key_phrase_spans' and 'has_target'
            (False on the no-target samples of ``NoTargetDataset``). A method whose
            pipeline adds its own fields passes them here, as FIANet's configs do.
    """

    def __init__(self, meta_keys=REFERRING_META_KEYS):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        if not str(results.get('expression', '')).strip():
            raise ValueError(f'sample {results.get("img_path")} has no expression to pack')
        return super().transform(results)
