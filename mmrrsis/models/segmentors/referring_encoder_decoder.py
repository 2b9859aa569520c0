"""Encoder-decoder segmentor that reads each sample's expression."""
import logging
from typing import Dict, List, Optional, Tuple

import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils.text_feats import TextFeats, gather_text, takes_text


def scores_masks(head: nn.Module) -> bool:
    """Whether a head's loss is its ``forward`` logits scored by ``loss_by_feat`` against the
    GT masks: the head's ``mask_loss`` attribute, True for mmseg's decode heads, False for
    a head with a loss of its own (D-MOLS's text reconstruction)."""
    return getattr(head, 'mask_loss', isinstance(head, BaseDecodeHead))


@MODELS.register_module()
class ReferringEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder`` conditioned on a referring expression.

    Each data sample carries its tokenized expression as a ``text`` field. The backbone is
    either a plain vision backbone (any mmseg backbone) with a ``text_encoder`` beside it, or
    one that sets ``takes_text = True`` and encodes both (``StageWiseExtractor``), returning
    ``(visual_feats, text_feats)``; ``text_feats`` is a :class:`TextFeats`. Necks and heads
    whose class sets ``takes_text = True`` are called with it (``neck(x, text_feats)``,
    ``head.loss(x, text_feats, ...)``), all others with the visual features alone, so mmseg's
    own necks and heads plug in unchanged.

    Besides mmseg's outputs, :meth:`predict` gives each sample ``pred_sem_seg_input``, the
    prediction at the network input size (see :meth:`postprocess_result`).

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
                 init_cfg: OptMultiConfig = None,
                 **kwargs):
        if 'existence_head' in kwargs:
            raise TypeError('an existence head makes the model an ExistenceEncoderDecoder: set '
                            "type='ExistenceEncoderDecoder' in the model config")
        if kwargs:
            raise TypeError(f'ReferringEncoderDecoder got unexpected arguments {sorted(kwargs)}')
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
        self.backbone_takes_text = takes_text(self.backbone)
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
    def _call(module: nn.Module, method: str, x, text_feats: TextFeats, *args):
        """``module.method(x, text_feats, *args)`` if the module takes text, else without it;
        ``'forward'`` goes through ``module(...)``, so that its hooks run."""
        function = module if method == 'forward' else getattr(module, method)
        if takes_text(module):
            return function(x, text_feats, *args)
        return function(x, *args)

    def extract_feat(self, inputs: Tensor,
                     text: Dict[str, Tensor]) -> Tuple[List[Tensor], TextFeats]:
        """Encodes image and text.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            text (dict): Tokenized text, each field (B, Nt), see :func:`gather_text`.

        Returns:
            tuple: visual features (list of (B, C_i, H_i, W_i)) and the text features.
        """
        if self.backbone_takes_text:
            x, text_feats = self.backbone(inputs, text)
        else:
            x = self.backbone(inputs)
            text_feats = TextFeats(self.text_encoder.encode_text(text))
        if self.with_neck:
            x = self._call(self.neck, 'forward', x, text_feats)
        return x, text_feats

    def _encode(self, inputs: Tensor, items: list,
                where: str) -> Tuple[List[Tensor], TextFeats]:
        """:meth:`extract_feat` of the batch with the ``text`` each sample or meta in ``items``
        carries; ``where`` names the caller in the error for missing text."""
        return self.extract_feat(inputs, gather_text([i.get('text') for i in items], where))

    def decode_outputs(self, x: List[Tensor],
                       text_feats: TextFeats) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The decode head's (B, C, h, w) logits and its named extra outputs (see
        :class:`BaseReferringDecodeHead`; none for mmseg's heads), in one forward pass."""
        if hasattr(self.decode_head, 'forward_outputs'):
            return self.decode_head.forward_outputs(x, text_feats)
        return self._call(self.decode_head, 'forward', x, text_feats), {}

    def _head_loss(self, head: nn.Module, x: List[Tensor], text_feats: TextFeats,
                   data_samples: SampleList, keep: Optional[List[int]] = None) -> dict:
        """The head's losses; with ``keep`` (batch indices) a mask head scores only those
        samples, after a forward pass over the whole batch."""
        if keep is None or not scores_masks(head):
            return self._call(head, 'loss', x, text_feats, data_samples, self.train_cfg)
        return self._mask_losses(head, self._call(head, 'forward', x, text_feats),
                                 data_samples, keep)

    @staticmethod
    def _mask_losses(head: nn.Module, seg_logits: Tensor, data_samples: SampleList,
                     keep: Optional[List[int]]) -> dict:
        """``head.loss_by_feat`` of the samples ``keep`` (all when None)."""
        if keep is None or len(keep) == len(data_samples):
            return head.loss_by_feat(seg_logits, data_samples)
        if keep:
            return head.loss_by_feat(seg_logits[keep], [data_samples[i] for i in keep])
        # No sample kept: the same entries, zero losses still on the graph.
        losses = head.loss_by_feat(seg_logits[:1], data_samples[:1])
        return {k: v * 0 if k.startswith('loss') else v for k, v in losses.items()}

    def _auxiliary_losses(self, x: List[Tensor], text_feats: TextFeats,
                          data_samples: SampleList, keep: Optional[List[int]] = None) -> dict:
        """Losses of the auxiliary heads, prefixed ``aux`` (``aux_<i>`` for a list)."""
        losses = {}
        if not self.with_auxiliary_head:
            return losses
        several = isinstance(self.auxiliary_head, nn.ModuleList)
        heads = self.auxiliary_head if several else [self.auxiliary_head]
        for idx, head in enumerate(heads):
            prefix = f'aux_{idx}' if several else 'aux'
            for name, value in self._head_loss(head, x, text_feats, data_samples, keep).items():
                losses[f'{prefix}.{name}'] = value
        return losses

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Decode and auxiliary head losses of a batch, prefixed ``decode.`` and ``aux.``."""
        x, text_feats = self._encode(inputs, data_samples, 'ReferringEncoderDecoder.loss')
        decode = self._call(self.decode_head, 'loss', x, text_feats, data_samples, self.train_cfg)
        losses = {f'decode.{name}': value for name, value in decode.items()}
        losses.update(self._auxiliary_losses(x, text_feats, data_samples))
        return losses

    def encode_decode_outputs(self, inputs: Tensor,
                              batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Everything the model predicts for a batch at the input size.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            batch_img_metas (list[dict]): Metas, each with the sample's ``text``.

        Returns:
            dict[str, Tensor]: ``seg_logits`` (B, C, H, W), and in subclasses further
            per-sample outputs (B, ...).
        """
        x, text_feats = self._encode(inputs, batch_img_metas,
                                     'ReferringEncoderDecoder.encode_decode')
        return dict(seg_logits=self._call(self.decode_head, 'predict', x, text_feats,
                                          batch_img_metas, self.test_cfg))

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(B, C, H, W) seg logits at the input size; the text comes in the metas."""
        return self.encode_decode_outputs(inputs, batch_img_metas)['seg_logits']

    def inference_outputs(self, inputs: Tensor,
                          batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """:meth:`encode_decode_outputs` of the whole input (``test_cfg.mode='whole'``) or
        merged over sliding windows (``'slide'``): the logits as mmseg merges them, every
        other output by its maximum over the windows."""
        mode = self.test_cfg.get('mode', 'whole')
        if mode not in ('slide', 'whole'):
            raise ValueError(f'test_cfg.mode must be "slide" or "whole", got {mode!r}')
        ori_shape = batch_img_metas[0]['ori_shape']
        if not all(meta['ori_shape'] == ori_shape for meta in batch_img_metas):
            print_log('Image shapes are different in the batch.', logger='current',
                      level=logging.WARN)
        if mode == 'whole':
            return self.encode_decode_outputs(inputs, batch_img_metas)
        return self.slide_inference_outputs(inputs, batch_img_metas)

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(B, C, H, W) seg logits, whole or sliding-window (mmseg's interface)."""
        return self.inference_outputs(inputs, batch_img_metas)['seg_logits']

    def slide_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(B, C, H, W) seg logits merged over sliding windows, as mmseg's."""
        return self.slide_inference_outputs(inputs, batch_img_metas)['seg_logits']

    def slide_inference_outputs(self, inputs: Tensor,
                                batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """mmseg's sliding-window inference over every output of
        :meth:`encode_decode_outputs`: overlapping logits are averaged, other outputs take
        their maximum over the windows."""
        h_stride, w_stride = self.test_cfg.stride
        h_crop, w_crop = self.test_cfg.crop_size
        batch_size, _, h_img, w_img = inputs.size()
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((batch_size, self.out_channels, h_img, w_img))
        count_mat = inputs.new_zeros((batch_size, 1, h_img, w_img))
        merged: Dict[str, Tensor] = {}
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = inputs[:, :, y1:y2, x1:x2]
                batch_img_metas[0]['img_shape'] = crop.shape[2:]
                outputs = self.encode_decode_outputs(crop, batch_img_metas)
                preds += F.pad(outputs.pop('seg_logits'),
                               (int(x1), int(preds.shape[3] - x2), int(y1),
                                int(preds.shape[2] - y2)))
                count_mat[:, :, y1:y2, x1:x2] += 1
                for key, value in outputs.items():
                    merged[key] = value if key not in merged else merged[key].maximum(value)
        assert (count_mat == 0).sum() == 0
        return dict(seg_logits=preds / count_mat, **merged)

    @staticmethod
    def _inference_metas(data_samples: OptSampleList, where: str) -> List[dict]:
        if data_samples is None:
            raise ValueError(f'{where} needs data samples: the expression travels in them')
        # The text rides in the metas so whole and slide inference pass it through. The metas
        # are copies: slide inference overwrites their img_shape with the crop's.
        return [dict(s.metainfo, text=s.get('text')) for s in data_samples]

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predicts masks at the original image size (mmseg post-processing) and at the
        network input size (``pred_sem_seg_input``, see :meth:`postprocess_result`)."""
        metas = self._inference_metas(data_samples, 'ReferringEncoderDecoder.predict')
        return self.postprocess_result(self.inference(inputs, metas), data_samples)

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

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """Raw decode-head logits, without post-processing."""
        if data_samples is None:
            raise ValueError('ReferringEncoderDecoder._forward needs data samples with text')
        x, text_feats = self._encode(inputs, data_samples, 'ReferringEncoderDecoder._forward')
        return self._call(self.decode_head, 'forward', x, text_feats)

    def aug_test(self, inputs, batch_img_metas, rescale=True):
        """Averages the logits of augmented copies (test-time augmentation)."""
        seg_logit = self.inference(inputs[0], batch_img_metas[0])
        for i in range(1, len(inputs)):
            seg_logit = seg_logit + resize(self.inference(inputs[i], batch_img_metas[i]),
                                           size=seg_logit.shape[2:], mode='bilinear')
        return (seg_logit / len(inputs)).argmax(dim=1)
