"""BTDNet's bidirectional feature extractor (paper Sec. III-C, III-C1, Eq. 1)."""
from typing import Sequence

from mmseg.utils import ConfigType, OptMultiConfig

from mmrrsis.registry import MODELS
from .stage_wise_extractor import FusionConfig, StageWiseExtractor

# F_m = BERT(masked_ids) and, in training, the target E = BERT(input_ids) without dropout
BTDNET_TEXT_PASSES = (dict(name='masked', ids='masked_ids'),
                      dict(name='target', frozen=True, training_only=True))


@MODELS.register_module()
class BidirectionalExtractor(StageWiseExtractor):
    """Swin Transformer and BERT run stage by stage, a fusion module after every stage.

    Stage i (paper Eq. 1)::

        V_i = swin_stage_i.blocks(V'_{i-1})        L_i = bert_stage_i(L'_{i-1})
        (V'_i, L'_i) = fusion_i(V_i, L_i)          e.g. BSC
        V'_i -> norm_i -> output i                 V'_i -> patch merging -> stage i+1

    A :class:`StageWiseExtractor` with BTDNet's settings: the text encoder interleaved with the
    Swin (as many stages as the Swin, BERT-base 3/3/3/3), one fused map per stage for both
    the output and the next stage, and by default the two text passes BTDNet's heads read:
    ``masked_feats`` F_m (background prior, D-MOLS query) and, in training, ``target_feats``
    (D-MOLS's stop-gradient target).

    Args:
        vision (dict): Config of an mmseg ``SwinTransformer``.
        text (dict): Config of the stage-wise text encoder, e.g. ``BertTextEncoder``.
        fusion (dict | list[dict | None] | None): Fusion module config used at every stage,
            or one entry per stage where None means no fusion there (the paper's per-stage
            ablation), or None for no fusion at all. Defaults to ``dict(type='BSC')``.
        text_passes (Sequence[dict]): Further text passes, see :class:`TextPass`. Defaults
            to :data:`BTDNET_TEXT_PASSES` (masked text and reconstruction target).
        with_cp (bool): Activation checkpointing, see :class:`StageWiseExtractor`.
            Defaults to False.
        fused_attention (bool): SDPA attention, see :class:`StageWiseExtractor`.
            Defaults to True.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vision: ConfigType,
                 text: ConfigType,
                 fusion: FusionConfig = dict(type='BSC'),
                 text_passes: Sequence[dict] = BTDNET_TEXT_PASSES,
                 with_cp: bool = False,
                 fused_attention: bool = True,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            vision=vision,
            text=text,
            fusion=fusion,
            text_mode='interleaved',
            text_passes=text_passes,
            with_cp=with_cp,
            fused_attention=fused_attention,
            init_cfg=init_cfg)
