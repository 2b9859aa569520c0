"""Swin stages with a language fusion module after each: the skeleton of the LAVT lineage."""
import copy
from typing import Dict, List, NamedTuple, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule, ModuleList
from mmseg.models.backbones import SwinTransformer
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from mmrrsis.registry import MODELS
from ..utils import PixelWordAttention
from ..utils.sdpa_window_msa import set_window_attention
from ..utils.text_feats import (ATTENTION_MASK, INPUT_IDS, MASKED_IDS, MASKED_TOKEN_MASK,
                                TextFeats)

FusionConfig = Union[OptConfigType, Sequence[OptConfigType]]
TEXT_MODES = ('whole', 'interleaved')


class TextPass(NamedTuple):
    """A further whole-encoder pass of the expression, without fusion.

    Args:
        name (str): The features go to ``text_feats[name + '_feats']``.
        ids (str): Token ids to encode, a field of the batch text. Defaults to 'input_ids'.
        mask (str): Attention mask, a field of the batch text; when it is not
            ``attention_mask`` it is also returned as ``text_feats[mask]``. Defaults to
            'attention_mask'.
        frozen (bool): Encode in eval mode and without gradient (a target without dropout
            noise). Defaults to False.
        training_only (bool): Run only in training. Defaults to False.
        to_fusions (bool): Run before the stages and hand ``(feats, mask)`` to the fusions
            that set ``takes_text_passes = True``; otherwise it runs after the stages.
            Defaults to False.
    """
    name: str
    ids: str = INPUT_IDS
    mask: str = ATTENTION_MASK
    frozen: bool = False
    training_only: bool = False
    to_fusions: bool = False


@MODELS.register_module()
class StageWiseExtractor(BaseModule):
    """mmseg's Swin Transformer run stage by stage, with a text-vision fusion module per stage.

    Stage i, with X_i (B, N_i, C_i) tokens on an (h_i, w_i) grid and L (B, Nt, C_l) words::

        X_i = swin_stage_i.blocks(E_{i-1})
        (E_i, F_i, L) = fusion_i(X_i, (h_i, w_i), L, m)
        output i = norm_i(F_i)                  E_i -> patch merging -> stage i+1

    LAVT's PWAM (and RMSIN's IIM, FIANet's FIAM, SBANet's BAM) return a gated residual E_i
    for the next stage and their multimodal features F_i as the output; BTDNet's BSC returns
    one map for both and an updated L. With no fusion the outputs equal
    ``SwinTransformer.forward``. The text encoder runs ``'whole'`` before the stages (LAVT
    lineage) or ``'interleaved'``: its stage i after the Swin blocks of stage i (BTDNet).

    ``text_passes`` declares further encodings of the expression (see :class:`TextPass`):
    BTDNet's masked text (``dict(name='masked', ids='masked_ids')``) and reconstruction
    target (``dict(name='target', frozen=True, training_only=True)``), FIANet's object and
    position texts (``dict(name='object_mask', mask='object_mask', to_fusions=True)``).

    Args:
        vision (dict): Config of an mmseg ``SwinTransformer``.
        text (dict): Config of the stage-wise text encoder, e.g. ``BertTextEncoder``.
        fusion (dict | list[dict | None] | None): One fusion config for every stage, one per
            stage (None: no fusion there), or None. ``vis_channels`` and ``text_channels``
            are filled in. Defaults to None.
        text_mode (str): ``'whole'`` or ``'interleaved'``. Defaults to 'whole'.
        text_passes (Sequence[dict]): Further text passes, :class:`TextPass` arguments.
            Defaults to ().
        with_cp (bool): Activation checkpointing in training: every Swin block (mmseg's
            ``with_cp``), every text-encoder layer and every fusion keep only their inputs
            and recompute their activations in the backward pass. Same gradients, less
            memory, more time. Defaults to False.
        fused_attention (bool): Swin's window attention, the text encoder's self-attention
            and every :class:`PixelWordAttention` of the fusions on
            ``scaled_dot_product_attention``; False restores the explicit softmax of each.
            Equal up to float order. Defaults to True.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text = True

    def __init__(self,
                 vision: ConfigType,
                 text: ConfigType,
                 fusion: FusionConfig = None,
                 text_mode: str = 'whole',
                 text_passes: Sequence[dict] = (),
                 with_cp: bool = False,
                 fused_attention: bool = True,
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
        self.text_passes = self._parse_passes(text_passes)
        self.fusions = ModuleList(self._build_fusions(fusion, num_stages))
        self.set_with_cp(with_cp)
        self.set_fused_attention(fused_attention)

    def set_with_cp(self, with_cp: bool) -> None:
        """Turns activation checkpointing (see ``with_cp``) on or off in place."""
        self.with_cp = with_cp
        for module in self.vision.modules():
            if hasattr(module, 'with_cp'):  # mmseg's SwinBlock and SwinBlockSequence
                module.with_cp = with_cp
        if hasattr(self.text, 'with_cp'):
            self.text.with_cp = with_cp

    def set_fused_attention(self, fused: bool) -> None:
        """Switches the attentions of ``fused_attention`` to SDPA or back, in place."""
        self.fused_attention = fused
        set_window_attention(self.vision, fused)
        if hasattr(self.text, 'set_attn_implementation'):
            self.text.set_attn_implementation('sdpa' if fused else 'eager')
        for module in self.fusions.modules():
            if isinstance(module, PixelWordAttention):
                module.fused = fused

    def _parse_passes(self, passes: Sequence[dict]) -> Tuple[TextPass, ...]:
        name = type(self).__name__
        parsed = []
        for cfg in passes:
            try:
                parsed.append(TextPass(**cfg))
            except TypeError as e:
                raise ValueError(f'{name}: bad text pass {cfg}: {e}') from None
        names = [p.name for p in parsed]
        if len(set(names)) != len(names):
            raise ValueError(f'{name}: text passes {names} repeat a name')
        clashes = [p.mask for p in parsed if p.mask in ('feats', 'mask')]
        if clashes:
            raise ValueError(f'{name}: a text pass mask may not be named {clashes}')
        return tuple(parsed)

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

    def _field(self, text: Dict[str, Tensor], key: str, pass_name: str) -> Tensor:
        if key == MASKED_IDS and key not in text:
            return text[INPUT_IDS]  # no key phrase masked: the masked text is the text
        if key not in text:
            raise KeyError(f'{type(self).__name__}: text pass {pass_name!r} reads {key!r}, '
                           f'but the batch text has only {sorted(text)}; the data '
                           'preprocessor must produce it')
        return text[key]

    def _encode_pass(self, text_pass: TextPass, text: Dict[str, Tensor]) -> Tuple[Tensor, Tensor]:
        ids = self._field(text, text_pass.ids, text_pass.name)
        mask = self._field(text, text_pass.mask, text_pass.name)
        if not text_pass.frozen:
            return self.text(ids, mask), mask
        was_training = self.text.training
        self.text.eval()
        try:
            with torch.no_grad():
                return self.text(ids, mask).detach(), mask
        finally:
            self.text.train(was_training)

    def _run_passes(self, text: Dict[str, Tensor],
                    to_fusions: bool) -> Dict[str, Tuple[Tensor, Tensor]]:
        return {
            p.name: self._encode_pass(p, text)
            for p in self.text_passes
            if p.to_fusions == to_fusions and (self.training or not p.training_only)
        }

    def _fuse(self, stage: int, vis: Tensor, hw_shape: Tuple[int, int], lang: Tensor,
              mask: Tensor, passes: Dict[str, Tuple[Tensor, Tensor]]
              ) -> Tuple[Tensor, Tensor, Tensor]:
        fusion = self.fusions[stage]
        kwargs = dict(text_passes=passes) if getattr(fusion, 'takes_text_passes', False) else {}
        if self.with_cp and self.training and torch.is_grad_enabled():
            result = checkpoint(fusion, vis, hw_shape, lang, mask, use_reentrant=False, **kwargs)
        else:
            result = fusion(vis, hw_shape, lang, mask, **kwargs)
        if not isinstance(result, tuple) or len(result) != 3:
            count = len(result) if isinstance(result, tuple) else 1
            raise ValueError(f'{type(fusion).__name__} returned {count} tensors; a fusion '
                             'returns (next_vis, out_vis, text)')
        return result

    def forward(self, inputs: Tensor, text: Dict[str, Tensor]) -> Tuple[List[Tensor], TextFeats]:
        """Encodes images and expressions jointly.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            text (dict): ``input_ids`` and ``attention_mask`` (B, Nt) and the fields the
                text passes read.

        Returns:
            tuple[list[Tensor], TextFeats]: The stage outputs, each (B, C_i, H_i, W_i) after
            the Swin's output norm (for its ``out_indices``), and the text features:
            ``feats`` (B, Nt, C_l) after the last fusion, ``mask`` (B, Nt) and each pass's
            ``<name>_feats`` (see :class:`TextFeats`).
        """
        input_ids, attention_mask = text[INPUT_IDS], text[ATTENTION_MASK]
        fusion_passes = self._run_passes(text, to_fusions=True)
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
                x, out, lang = self._fuse(i, x, hw_shape, lang, attention_mask, fusion_passes)
            if i in swin.out_indices:
                out = getattr(swin, f'norm{i}')(out)
                outs.append(
                    out.view(-1, *hw_shape, swin.num_features[i]).permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None:
                x, hw_shape = stage.downsample(x.contiguous(), hw_shape)

        text_feats = TextFeats(feats=lang, mask=attention_mask)
        passes = dict(fusion_passes, **self._run_passes(text, to_fusions=False))
        for text_pass in self.text_passes:
            if text_pass.name not in passes:
                continue
            feats, mask = passes[text_pass.name]
            text_feats[f'{text_pass.name}_feats'] = feats
            if text_pass.mask != ATTENTION_MASK:
                text_feats[text_pass.mask] = mask
            if text_pass.ids == MASKED_IDS:
                # the removed word pieces, what DMOLSHead(rec_tokens='masked') reconstructs
                text_feats[MASKED_TOKEN_MASK] = text.get(
                    MASKED_TOKEN_MASK, self._field(text, MASKED_IDS, text_pass.name) != input_ids)
        return outs, text_feats

    def extra_repr(self) -> str:
        return (f'text_mode={self.text_mode!r}, text_passes={list(self.text_passes)}, '
                f'with_cp={self.with_cp}, fused_attention={self.fused_attention}')
