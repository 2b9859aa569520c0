"""Referring segmentor that also says whether the expression's object is in the image."""
from typing import Dict, List, Optional

from mmseg.utils import ConfigType, OptSampleList, SampleList
from torch import Tensor

from mmrrsis.registry import MODELS
from ..utils.text_feats import TextFeats
from .referring_encoder_decoder import ReferringEncoderDecoder, scores_masks


@MODELS.register_module()
class ExistenceEncoderDecoder(ReferringEncoderDecoder):
    """:class:`ReferringEncoderDecoder` with an existence head (e.g. :class:`ExistenceHead`).

    The decode head runs once per pass (``decode_outputs``); the existence head reads the
    visual features, the text features, the decode head's logits and, when it names a
    ``query_output``, that extra output of the decode head (BTDNet's ``target_prototype``).

    Training adds ``exist.loss_exist``, a BCE against the metainfo ``has_target`` (False for a
    no-target sample, True when missing). The mask losses score only the samples with a
    target unless the head sets ``no_target_mask_loss=True`` (mask heads only: the decode
    head and every auxiliary head whose loss is its logits against the GT; others, like
    D-MOLS, see the whole batch).

    At inference each sample gets ``existence_score``, a 0-d tensor p(target present) (slide
    inference: the highest over the windows); where p < the head's ``threshold`` its
    ``pred_sem_seg`` and ``pred_sem_seg_input`` are emptied. ``seg_logits`` stay the decode
    head's, so a test-time-augmentation merge, which rebuilds the mask from them, ignores
    the decision.

    Args:
        existence_head (dict): Existence head config.
        **kwargs: As :class:`ReferringEncoderDecoder`.
    """

    def __init__(self, existence_head: ConfigType, **kwargs):
        super().__init__(**kwargs)
        # Built last, so that every other module is initialised as without it.
        self.existence_head = MODELS.build(existence_head)
        if not scores_masks(self.decode_head):
            raise ValueError(f'existence_head needs a decode head whose loss scores its logits '
                             f'against the GT masks; {type(self.decode_head).__name__} has a '
                             'loss of its own')
        query = getattr(self.existence_head, 'query_output', None)
        outputs = getattr(self.decode_head, 'extra_outputs', ())
        if query is not None and query not in outputs:
            raise ValueError(f'existence_head.query_output={query!r} is no output of '
                             f'{type(self.decode_head).__name__} (it gives {list(outputs)})')

    def _existence_logits(self, x: List[Tensor], text_feats: TextFeats,
                          extras: Dict[str, Tensor], seg_logits: Tensor) -> Tensor:
        """(B,) existence logits."""
        query = getattr(self.existence_head, 'query_output', None)
        return self.existence_head(x, text_feats, None if query is None else extras[query],
                                   seg_logits)

    def _mask_loss_samples(self, data_samples: SampleList) -> Optional[List[int]]:
        """Indices of the samples the mask losses score (None: all)."""
        if self.existence_head.no_target_mask_loss:
            return None
        return [i for i, s in enumerate(data_samples) if s.metainfo.get('has_target', True)]

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Decode, existence and auxiliary losses, prefixed ``decode.``, ``exist.``, ``aux.``."""
        x, text_feats = self._encode(inputs, data_samples, 'ExistenceEncoderDecoder.loss')
        keep = self._mask_loss_samples(data_samples)
        seg_logits, extras = self.decode_outputs(x, text_feats)
        decode = self._mask_losses(self.decode_head, seg_logits, data_samples, keep)
        losses = {f'decode.{name}': value for name, value in decode.items()}
        logits = self._existence_logits(x, text_feats, extras, seg_logits)
        for name, value in self.existence_head.loss(logits, data_samples).items():
            losses[f'exist.{name}'] = value
        losses.update(self._auxiliary_losses(x, text_feats, data_samples, keep))
        return losses

    def encode_decode_outputs(self, inputs: Tensor,
                              batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """``seg_logits`` (B, C, H, W) and ``existence_logits`` (B,)."""
        x, text_feats = self._encode(inputs, batch_img_metas,
                                     'ExistenceEncoderDecoder.encode_decode')
        raw_logits, extras = self.decode_outputs(x, text_feats)
        return dict(
            seg_logits=self.decode_head.predict_by_feat(raw_logits, batch_img_metas),
            existence_logits=self._existence_logits(x, text_feats, extras, raw_logits))

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """As :meth:`ReferringEncoderDecoder.predict`, plus ``existence_score`` and empty
        masks where it is below the head's threshold."""
        metas = self._inference_metas(data_samples, 'ExistenceEncoderDecoder.predict')
        outputs = self.inference_outputs(inputs, metas)
        data_samples = self.postprocess_result(outputs['seg_logits'], data_samples)
        for data_sample, logit in zip(data_samples, outputs['existence_logits']):
            score = logit.detach().float().sigmoid()
            data_sample.set_data({'existence_score': score})
            if score < self.existence_head.threshold:
                data_sample.pred_sem_seg.data.zero_()
                data_sample.pred_sem_seg_input.data.zero_()
        return data_samples
