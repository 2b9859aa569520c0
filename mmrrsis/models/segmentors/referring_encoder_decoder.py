"""Encoder-decoder segmentor that reads each sample's expression."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor, nn

from mmrrsis.registry import MODELS

TextFeats = Dict[str, Tensor]


def gather_text(items, where: str) -> Dict[str, Tensor]:
    """Stacks the per-sample ``text`` fields set by ``ReferringDataPreProcessor``.

    Args:
        items (list): ``text`` elements (BaseDataElement) of the samples, in batch order.
        where (str): Where they come from, for the error message.

    Returns:
        dict: every field of the text elements stacked: ``input_ids``, ``attention_mask`` and
        what the preprocessor adds (``masked_ids``, ``masked_token_mask``, extra attention
        masks...), each (B, Nt).
    """
    if not items or any(t is None for t in items):
        raise ValueError(f'{where}: samples carry no tokenized text; use '
                         'ReferringDataPreProcessor as the model data_preprocessor')
    keys = list(items[0].keys())
    for key in ('input_ids', 'attention_mask'):
        if key not in keys:
            raise ValueError(f'{where}: the samples\' text has no {key!r} (only {keys})')
    return {k: torch.stack([t.get(k) for t in items]) for k in keys}


@MODELS.register_module()
class ReferringEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder`` conditioned on a referring expression.

    Text reaches the model as each data sample's ``text`` field. Two backbone kinds work:

    * a plain vision backbone (any mmseg backbone) plus ``text_encoder``: image and text
      are encoded separately (the "no-correlation" pipeline);
    * a backbone with ``takes_text = True`` (e.g. BTDNet's ``BidirectionalExtractor``) that
      encodes both jointly and returns ``(visual_feats, text_feats)``.

    ``text_feats`` is a dict with ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt), plus what the
    backbone adds (``masked_feats``, ``target_feats``...). Necks and heads whose class sets
    ``takes_text = True`` receive it (``neck(x, text_feats)``, ``head.loss(x, text_feats,
    ...)``); every other mmseg neck and head sees only the visual features, so stock ones
    (``FPN``, ``FCNHead``, ``FPNHead``...) plug in unchanged.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config.
        text_encoder (dict, optional): Text encoder config (e.g. ``BertTextEncoder``);
            required unless the backbone takes text. Defaults to None.
        Other args: as :class:`mmseg.models.EncoderDecoder`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 text_encoder: OptConfigType = None,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        self.backbone_takes_text = getattr(self.backbone, 'takes_text', False)
        if self.backbone_takes_text:
            if text_encoder is not None:
                raise ValueError(f'{type(self.backbone).__name__} encodes the text itself; '
                                 'remove `text_encoder` from the segmentor config')
            self.text_encoder = None
        elif text_encoder is None:
            raise ValueError(f'{type(self.backbone).__name__} reads no text: give '
                             'ReferringEncoderDecoder a `text_encoder` config')
        else:
            self.text_encoder = MODELS.build(text_encoder)

    @staticmethod
    def _takes_text(head: nn.Module) -> bool:
        return getattr(head, 'takes_text', False)

    def extract_feat(self, inputs: Tensor, text: Dict[str, Tensor]) -> Tuple[List[Tensor], TextFeats]:
        """Encodes image and text.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            text (dict): Tokenized text, see :func:`gather_text`.

        Returns:
            tuple: visual features (list of (B, C_i, H_i, W_i)) and the text feature dict.
        """
        if self.backbone_takes_text:
            x, text_feats = self.backbone(inputs, text)
        else:
            x = self.backbone(inputs)
            text_feats = self.text_encoder.encode_text(text)
        if self.with_neck:
            x = self.neck(x, text_feats) if self._takes_text(self.neck) else self.neck(x)
        return x, text_feats

    def _head_loss(self, head: nn.Module, x, text_feats: TextFeats, data_samples: SampleList) -> dict:
        if self._takes_text(head):
            return head.loss(x, text_feats, data_samples, self.train_cfg)
        return head.loss(x, data_samples, self.train_cfg)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Computes decode and auxiliary head losses for a batch."""
        text = gather_text([s.get('text') for s in data_samples], 'ReferringEncoderDecoder.loss')
        x, text_feats = self.extract_feat(inputs, text)
        losses = {}
        for name, value in self._head_loss(self.decode_head, x, text_feats, data_samples).items():
            losses[f'decode.{name}'] = value
        if self.with_auxiliary_head:
            aux_heads = self.auxiliary_head if isinstance(self.auxiliary_head, nn.ModuleList) \
                else [self.auxiliary_head]
            for idx, head in enumerate(aux_heads):
                prefix = f'aux_{idx}' if isinstance(self.auxiliary_head, nn.ModuleList) else 'aux'
                for name, value in self._head_loss(head, x, text_feats, data_samples).items():
                    losses[f'{prefix}.{name}'] = value
        return losses

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Predicts seg logits at the input size; the text comes in the metas' ``text``."""
        text = gather_text([m.get('text') for m in batch_img_metas],
                           'ReferringEncoderDecoder.encode_decode')
        x, text_feats = self.extract_feat(inputs, text)
        if self._takes_text(self.decode_head):
            return self.decode_head.predict(x, text_feats, batch_img_metas, self.test_cfg)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predicts masks at the original image size (mmseg post-processing) and at the
        network input size (``pred_sem_seg_input``, see :meth:`postprocess_result`)."""
        if data_samples is None:
            raise ValueError('ReferringEncoderDecoder.predict needs data samples: the '
                             'expression travels in them')
        # The text rides in the metas so mmseg's whole/slide inference pass it through. The
        # metas are copies: slide inference overwrites their img_shape with the crop's.
        batch_img_metas = [dict(s.metainfo, text=s.get('text')) for s in data_samples]
        seg_logits = self.inference(inputs, batch_img_metas)
        return self.postprocess_result(seg_logits, data_samples)

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: OptSampleList = None) -> SampleList:
        """mmseg's post-processing plus the prediction at the network input size.

        mmseg crops the padding off the logits, undoes a test-time flip, resizes them
        bilinearly to ``ori_shape`` and takes the argmax (``pred_sem_seg``, ``seg_logits``).
        The LAVT-lineage tables score instead the argmax of the logits at the input size, so
        each sample also gets ``pred_sem_seg_input``: the same crop and flip, no resize, then
        the argmax (TBTDHead's [M_bg, M_fg]: foreground where M_fg > M_bg), a (1, h, w) mask
        with (h, w) = ``img_shape`` when the metas are consistent. Slide inference stitches
        its windows into logits of the whole padded input first, so the same holds there.
        ``pred_sem_seg`` gets metainfo ``has_input_pred=True``: a step that later replaces
        it (mmseg's ``SegTTAModel`` merges augmented copies into a new ``PixelData``) drops
        the mark, and ``RRSISMetric(eval_resolution='input')`` refuses the unpaired sample.

        Args:
            seg_logits (Tensor): (B, C, H, W) logits at the padded input size.
            data_samples (list[SegDataSample], optional): The samples, with metainfo
                ``img_shape``, ``ori_shape`` and optionally ``padding_size`` (or
                ``img_padding_size``), ``flip`` and ``flip_direction``. Defaults to None.

        Returns:
            list[SegDataSample]: With ``seg_logits`` (C, H_ori, W_ori), ``pred_sem_seg``
            (1, H_ori, W_ori) and ``pred_sem_seg_input`` (1, h, w).
        """
        only_prediction = data_samples is None
        data_samples = super().postprocess_result(seg_logits, data_samples)
        for i, data_sample in enumerate(data_samples):
            logits = seg_logits[i] if only_prediction else \
                self._input_size_logits(seg_logits[i], data_sample.metainfo)
            if logits.shape[0] > 1:
                pred = logits.argmax(dim=0, keepdim=True)
            else:
                pred = (logits.sigmoid() > self.decode_head.threshold).to(logits)
            data_sample.set_data({'pred_sem_seg_input': PixelData(data=pred)})
            data_sample.pred_sem_seg.set_metainfo(dict(has_input_pred=True))
        return data_samples

    @staticmethod
    def _input_size_logits(logits: Tensor, img_meta: dict) -> Tensor:
        """Crops the padding off (C, H, W) logits and undoes a flip, as mmseg's
        ``postprocess_result`` does before its resize; returns (C, h, w)."""
        padding = img_meta.get('img_padding_size', img_meta.get('padding_size', [0] * 4))
        left, right, top, bottom = padding
        logits = logits[:, top:logits.shape[1] - bottom, left:logits.shape[2] - right]
        if img_meta.get('flip', None):
            # mmseg's postprocess_result has already refused other directions
            horizontal = img_meta.get('flip_direction') == 'horizontal'
            logits = logits.flip(dims=(2, ) if horizontal else (1, ))
        return logits

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        """Raw decode-head output, without post-processing."""
        if data_samples is None:
            raise ValueError('ReferringEncoderDecoder._forward needs data samples with text')
        text = gather_text([s.get('text') for s in data_samples], 'ReferringEncoderDecoder._forward')
        x, text_feats = self.extract_feat(inputs, text)
        if self._takes_text(self.decode_head):
            return self.decode_head.forward(x, text_feats)
        return self.decode_head.forward(x)

    def aug_test(self, inputs, batch_img_metas, rescale=True):
        """Averages the logits of augmented copies (test-time augmentation)."""
        seg_logit = self.inference(inputs[0], batch_img_metas[0])
        for i in range(1, len(inputs)):
            seg_logit = seg_logit + resize(self.inference(inputs[i], batch_img_metas[i]),
                                           size=seg_logit.shape[2:], mode='bilinear')
        return (seg_logit / len(inputs)).argmax(dim=1)
