"""BTDNet's bidirectional feature extractor (paper Sec. III-C, III-C1, Eq. 1)."""
import copy
from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule, ModuleList
from mmseg.models.backbones import SwinTransformer
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from mmrrsis.registry import MODELS

FusionConfig = Union[OptConfigType, Sequence[OptConfigType]]


@MODELS.register_module()
class BidirectionalExtractor(BaseModule):
    """Swin Transformer and BERT run stage by stage, a fusion module after every stage.

    Stage i (paper Eq. 1)::

        V_i = swin_stage_i.blocks(V'_{i-1})        L_i = bert_stage_i(L'_{i-1})
        (V'_i, L'_i) = fusion_i(V_i, L_i)          e.g. BSC
        V'_i -> norm_i -> output i                 V'_i -> patch merging -> stage i+1

    The vision side is mmseg's :class:`SwinTransformer`, driven through its own modules in
    the order of its ``forward`` (patch embedding, absolute position embedding, dropout,
    blocks, output norms ``norm{i}``, patch merging); the only change is that the patch
    merging and the output norm see the fused features. With no fusion the outputs equal
    ``SwinTransformer.forward`` exactly. The text side is a stage-wise encoder such as
    :class:`BertTextEncoder` (``embed``, ``forward_stage``, ``num_stages``, ``embed_dims``),
    with as many stages as the Swin.

    Args:
        vision (dict): Config of an mmseg ``SwinTransformer``; its ``init_cfg`` (e.g. ImageNet
            weights) is honoured by :meth:`init_weights`.
        text (dict): Config of the stage-wise text encoder, e.g. ``BertTextEncoder``.
        fusion (dict | list[dict | None] | None): Fusion module config (e.g. ``dict(type='BSC')``)
            used at every stage, or one entry per stage where None means no fusion there
            (the paper's per-stage ablation), or None for no fusion at all. ``vis_channels``
            and ``text_channels`` are filled in from the stage widths. Defaults to
            ``dict(type='BSC')``.
        with_target_feats (bool): In training, also return ``target_feats``, the unfused
            encoding of the unmasked expression without gradient (D-MOLS's reconstruction
            target). Defaults to True.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text = True

    def __init__(self,
                 vision: ConfigType,
                 text: ConfigType,
                 fusion: FusionConfig = dict(type='BSC'),
                 with_target_feats: bool = True,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.vision = MODELS.build(vision)
        if not isinstance(self.vision, SwinTransformer):
            raise TypeError('BidirectionalExtractor runs mmseg SwinTransformer stage by stage; '
                            f'`vision` built a {type(self.vision).__name__}')
        self.text = MODELS.build(text)
        num_stages = len(self.vision.stages)
        if self.text.num_stages != num_stages:
            raise ValueError(f'BidirectionalExtractor: the text encoder has '
                             f'{self.text.num_stages} stages but the Swin has {num_stages}; '
                             'set `stages` of the text encoder to split its layers into '
                             f'{num_stages} groups')
        self.with_target_feats = with_target_feats
        self.fusions = ModuleList(self._build_fusions(fusion, num_stages))

    def _build_fusions(self, fusion: FusionConfig, num_stages: int) -> List:
        if fusion is None or isinstance(fusion, dict):
            fusion = [fusion] * num_stages
        fusion = list(fusion)
        if len(fusion) != num_stages:
            raise ValueError(f'BidirectionalExtractor: {len(fusion)} fusion configs for '
                             f'{num_stages} stages; give one per stage (None = no fusion)')
        modules = []
        for i, cfg in enumerate(fusion):
            if cfg is None:
                modules.append(None)
                continue
            cfg = copy.deepcopy(dict(cfg))
            widths = dict(vis_channels=self.vision.num_features[i],
                          text_channels=self.text.embed_dims)
            for key, width in widths.items():
                if cfg.setdefault(key, width) != width:
                    raise ValueError(f'BidirectionalExtractor: fusion stage {i} sets {key}='
                                     f'{cfg[key]} but the stage is {width} wide; leave it out')
            modules.append(MODELS.build(cfg))
        return modules

    def forward(self, inputs: Tensor,
                text: Dict[str, Tensor]) -> Tuple[List[Tensor], Dict[str, Tensor]]:
        """Encodes images and expressions jointly.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            text (dict): ``input_ids`` and ``attention_mask`` (B, Nt), optionally
                ``masked_ids`` (B, Nt) with the key phrase replaced by [PAD].

        Returns:
            tuple[list[Tensor], dict]: The vision-oriented features [V'_1..V'_4], each
            (B, C_i, H_i, W_i) after the Swin's output norm (for the Swin's ``out_indices``),
            and the text features: ``feats`` L'_4 (B, Nt, C_l), ``mask`` (B, Nt),
            ``masked_feats`` (B, Nt, C_l) the unfused encoding of ``masked_ids`` (of
            ``input_ids`` when absent) and, in training with ``with_target_feats``,
            ``target_feats`` (B, Nt, C_l) the unfused encoding of ``input_ids``, detached.
        """
        input_ids, attention_mask = text['input_ids'], text['attention_mask']
        swin = self.vision
        x, hw_shape = swin.patch_embed(inputs)
        if swin.use_abs_pos_embed:
            x = x + swin.absolute_pos_embed
        x = swin.drop_after_pos(x)
        lang = self.text.embed(input_ids)

        outs = []
        for i, stage in enumerate(swin.stages):
            for block in stage.blocks:
                x = block(x, hw_shape)
            lang = self.text.forward_stage(i, lang, attention_mask)
            if self.fusions[i] is not None:
                vis = x.transpose(1, 2).reshape(-1, swin.num_features[i], *hw_shape)
                vis, lang = self.fusions[i](vis, lang, attention_mask)
                x = vis.flatten(2).transpose(1, 2).contiguous()
            if i in swin.out_indices:
                out = getattr(swin, f'norm{i}')(x)
                outs.append(
                    out.view(-1, *hw_shape, swin.num_features[i]).permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None:
                x, hw_shape = stage.downsample(x, hw_shape)

        masked_ids = text.get('masked_ids', input_ids)
        text_feats = dict(
            feats=lang,
            mask=attention_mask,
            # masked positions stay attended: like MLM's [MASK], their features are the
            # context's guess of the removed words
            masked_feats=self.text(masked_ids, attention_mask),
            # the removed word pieces, the tokens DMOLSHead(rec_tokens='masked') reconstructs
            masked_token_mask=text.get('masked_token_mask', masked_ids != input_ids))
        if self.training and self.with_target_feats:
            text_feats['target_feats'] = self._target_feats(input_ids, attention_mask)
        return outs, text_feats

    @torch.no_grad()
    def _target_feats(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        # a reconstruction target without dropout noise: encode in eval mode
        was_training = self.text.training
        self.text.eval()
        try:
            return self.text(input_ids, attention_mask).detach()
        finally:
            self.text.train(was_training)
