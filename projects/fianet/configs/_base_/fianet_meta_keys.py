# The metainfo FIANet's pipelines pack: PackReferringInputs' default keys plus the spans
# FIANetTextDecoupler writes, from which the data preprocessor builds the object and
# position masks (see span_masks in fianet_swinb_bert.py).
fianet_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'expression', 'category', 'category_id', 'image_id', 'ref_id', 'ann_id',
                    'sent_id', 'key_phrase_spans', 'has_target', 'object_spans',
                    'position_spans')
