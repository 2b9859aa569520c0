"""Swin stages with a language fusion module after each: the skeleton of the LAVT lineage."""
import copy
from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule, ModuleList
from mmseg.models.backbones import SwinTransformer
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from mmrrsis.registry import MODELS

FusionConfig = Union[OptConfigType, Sequence[OptConfigType]]
TEXT_MODES = ('whole', 'interleaved')


@MODELS.register_module()
class StageWiseExtractor(BaseModule):
    """mmseg's Swin Transformer run stage by stage, with a text-vision fusion module per stage.

    One stage i::

        X_i = swin_stage_i.blocks(E_{i-1})
        fusion_i(X_i, L, m) -> (E_i, F_i, L')   or   (V'_i, L')  (then E_i = F_i = V'_i)
        output i = norm_i(F_i)                  E_i -> patch merging -> stage i+1

    This covers the RRSIS methods built on LAVT: LAVT's PWAM returns the gated residual
    ``E_i = X_i + gate(F_i) ⊙ F_i`` for the next stage and its multimodal features F_i as the
    stage output (RMSIN's IIM, FIANet's FIAM and SBANet's BAM do the same, SBANet's also
    updating L), while BTDNet's BSC returns one fused map for both and updates the text.

    The text encoder (a stage-wise encoder such as :class:`BertTextEncoder`) runs either
    ``'whole'`` before the vision stages (LAVT lineage: the fusions see its last hidden state,
    updated only by fusions that return a new L), or ``'interleaved'``: its stage i runs after
    the Swin blocks of stage i and before fusion i (BTDNet; the encoder then needs as many
    stages as the Swin).

    The vision side is driven through mmseg's own modules in the order of
    ``SwinTransformer.forward`` (patch embedding, absolute position embedding, dropout, blocks,
    output norms ``norm{i}``, patch merging); with no fusion the outputs equal
    ``SwinTransformer.forward`` exactly.

    Further text passes, each a whole-encoder pass of ``input_ids`` under another attention
    mask, are run only when asked for: ``extra_text_masks`` (names of (B, Nt) masks that the
    data preprocessor put next to ``input_ids``; FIANet's object and position masks) — given
    to fusions that declare ``takes_extra_text = True`` as ``extra_text={name: (feats, mask)}``
    and returned as ``text_feats[name + '_feats']`` and ``text_feats[name]``; the masked text
    (``with_masked_feats``: ``masked_ids`` encoded whole, BTDNet's background prior and
    D-MOLS query); and the reconstruction target (``with_target_feats``, training only).

    Args:
        vision (dict): Config of an mmseg ``SwinTransformer``; its ``init_cfg`` (e.g. ImageNet
            weights) is honoured by :meth:`init_weights`.
        text (dict): Config of the stage-wise text encoder, e.g. ``BertTextEncoder``.
        fusion (dict | list[dict | None] | None): Fusion module config used at every stage,
            or one entry per stage where None means no fusion there, or None for no fusion at
            all. ``vis_channels`` and ``text_channels`` are filled in from the stage widths.
            Defaults to None.
        text_mode (str): ``'whole'`` or ``'interleaved'``, see above. Defaults to 'whole'.
        extra_text_masks (Sequence[str]): Names of the extra attention masks to encode the
            expression under. Defaults to ().
        with_masked_feats (bool): Also return ``masked_feats``, the fusion-free encoding of
            ``masked_ids`` (of ``input_ids`` when absent) under the attention mask. Defaults
            to False.
        with_target_feats (bool): In training, also return ``target_feats``, the fusion-free
            encoding of ``input_ids`` in eval mode and without gradient. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text = True

    def __init__(self,
                 vision: ConfigType,
                 text: ConfigType,
                 fusion: FusionConfig = None,
                 text_mode: str = 'whole',
                 extra_text_masks: Sequence[str] = (),
                 with_masked_feats: bool = False,
                 with_target_feats: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if text_mode not in TEXT_MODES:
            raise ValueError(f'{name}: text_mode must be one of {TEXT_MODES}, got {text_mode!r}')
        self.vision = MODELS.build(vision)
        if not isinstance(self.vision, SwinTransformer):
            raise TypeError(f'{name} runs mmseg SwinTransformer stage by stage; `vision` '
                            f'built a {type(self.vision).__name__}')
        self.text = MODELS.build(text)
        num_stages = len(self.vision.stages)
        if text_mode == 'interleaved' and self.text.num_stages != num_stages:
            raise ValueError(f'{name}: the text encoder has {self.text.num_stages} stages but '
                             f'the Swin has {num_stages}; with text_mode="interleaved" set '
                             f'`stages` of the text encoder to split its layers into '
                             f'{num_stages} groups')
        self.text_mode = text_mode
        self.extra_text_masks = tuple(extra_text_masks)
        reserved = {'input_ids', 'attention_mask', 'masked_ids', 'masked_token_mask'}
        if reserved & set(self.extra_text_masks):
            raise ValueError(f'{name}: extra_text_masks {self.extra_text_masks} may not name '
                             f'{sorted(reserved)}')
        self.with_masked_feats = with_masked_feats
        self.with_target_feats = with_target_feats
        self.fusions = ModuleList(self._build_fusions(fusion, num_stages))

    def _build_fusions(self, fusion: FusionConfig, num_stages: int) -> List:
        name = type(self).__name__
        if fusion is None or isinstance(fusion, dict):
            fusion = [fusion] * num_stages
        fusion = list(fusion)
        if len(fusion) != num_stages:
            raise ValueError(f'{name}: {len(fusion)} fusion configs for {num_stages} stages; '
                             'give one per stage (None = no fusion)')
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
                    raise ValueError(f'{name}: fusion stage {i} sets {key}={cfg[key]} but the '
                                     f'stage is {width} wide; leave it out')
            modules.append(MODELS.build(cfg))
        return modules

    def _extra_text(self, text: Dict[str, Tensor]) -> Dict[str, Tuple[Tensor, Tensor]]:
        extra = {}
        for key in self.extra_text_masks:
            if key not in text:
                raise KeyError(f'{type(self).__name__} encodes the expression under the '
                               f'attention mask {key!r}, but the batch text has only '
                               f'{sorted(text)}; the data preprocessor must produce it')
            extra[key] = (self.text(text['input_ids'], text[key]), text[key])
        return extra

    def _fuse(self, stage: int, vis: Tensor, lang: Tensor, mask: Tensor,
              extra: Dict[str, Tuple[Tensor, Tensor]]) -> Tuple[Tensor, Tensor, Tensor]:
        fusion = self.fusions[stage]
        if getattr(fusion, 'takes_extra_text', False):
            result = fusion(vis, lang, mask, extra_text=extra)
        else:
            result = fusion(vis, lang, mask)
        if len(result) == 2:
            return result[0], result[0], result[1]
        if len(result) == 3:
            return result
        raise ValueError(f'{type(fusion).__name__} returned {len(result)} tensors; a fusion '
                         'returns (vis, text) or (next_vis, out_vis, text)')

    def forward(self, inputs: Tensor,
                text: Dict[str, Tensor]) -> Tuple[List[Tensor], Dict[str, Tensor]]:
        """Encodes images and expressions jointly.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            text (dict): ``input_ids`` and ``attention_mask`` (B, Nt), optionally
                ``masked_ids``, ``masked_token_mask`` and the ``extra_text_masks`` (B, Nt).

        Returns:
            tuple[list[Tensor], dict]: The stage outputs, each (B, C_i, H_i, W_i) after the
            Swin's output norm (for the Swin's ``out_indices``), and the text features:
            ``feats`` (B, Nt, C_l) after the last fusion, ``mask`` (B, Nt), and what was asked
            for: ``masked_feats`` with ``masked_token_mask`` (B, Nt) bool (True where
            ``masked_ids`` removed a word piece), ``target_feats`` (training),
            ``<name>_feats`` and ``<name>`` for each extra mask.
        """
        input_ids, attention_mask = text['input_ids'], text['attention_mask']
        extra = self._extra_text(text)
        swin = self.vision
        x, hw_shape = swin.patch_embed(inputs)
        if swin.use_abs_pos_embed:
            x = x + swin.absolute_pos_embed
        x = swin.drop_after_pos(x)
        if self.text_mode == 'whole':
            lang = self.text(input_ids, attention_mask)
        else:
            lang = self.text.embed(input_ids)

        outs = []
        for i, stage in enumerate(swin.stages):
            for block in stage.blocks:
                x = block(x, hw_shape)
            if self.text_mode == 'interleaved':
                lang = self.text.forward_stage(i, lang, attention_mask)
            out = x
            if self.fusions[i] is not None:
                vis = x.transpose(1, 2).reshape(-1, swin.num_features[i], *hw_shape)
                next_vis, out_vis, lang = self._fuse(i, vis, lang, attention_mask, extra)
                x = next_vis.flatten(2).transpose(1, 2)
                out = x if out_vis is next_vis else out_vis.flatten(2).transpose(1, 2)
            if i in swin.out_indices:
                out = getattr(swin, f'norm{i}')(out)
                outs.append(
                    out.view(-1, *hw_shape, swin.num_features[i]).permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None:
                x, hw_shape = stage.downsample(x.contiguous(), hw_shape)

        text_feats = dict(feats=lang, mask=attention_mask)
        for key, (feats, mask) in extra.items():
            text_feats[f'{key}_feats'], text_feats[key] = feats, mask
        if self.with_masked_feats:
            masked_ids = text.get('masked_ids', input_ids)
            # masked positions stay attended: like MLM's [MASK], their features are the
            # context's guess of the removed words
            text_feats['masked_feats'] = self.text(masked_ids, attention_mask)
            # the removed word pieces, the tokens DMOLSHead(rec_tokens='masked') reconstructs
            text_feats['masked_token_mask'] = text.get('masked_token_mask',
                                                       masked_ids != input_ids)
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

    def extra_repr(self) -> str:
        return (f'text_mode={self.text_mode!r}, extra_text_masks={self.extra_text_masks}, '
                f'with_masked_feats={self.with_masked_feats}, '
                f'with_target_feats={self.with_target_feats}')
