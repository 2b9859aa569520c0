"""Base class for decode heads that read the expression's features."""
from abc import abstractmethod
from typing import Dict, List

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.utils import ConfigType, SampleList
from torch import Tensor


class BaseReferringDecodeHead(BaseDecodeHead):
    """mmseg's ``BaseDecodeHead`` whose forward also takes the text features.

    ``ReferringEncoderDecoder`` passes ``text_feats`` to heads that set ``takes_text``;
    losses and post-processing stay mmseg's (``loss_by_feat``/``predict_by_feat``).

    ``text_feats`` keys: ``feats`` (B, Nt, C_l) token features, ``mask`` (B, Nt) with 1 for
    real tokens, and optionally ``masked_feats``/``target_feats`` (same shape as ``feats``).
    """
    takes_text = True

    @abstractmethod
    def forward(self, inputs: List[Tensor], text_feats: Dict[str, Tensor]) -> Tensor:
        """Returns (B, num_classes, h, w) logits."""

    def loss(self, inputs: List[Tensor], text_feats: Dict[str, Tensor],
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        seg_logits = self.forward(inputs, text_feats)
        return self.loss_by_feat(seg_logits, batch_data_samples)

    def predict(self, inputs: List[Tensor], text_feats: Dict[str, Tensor],
                batch_img_metas: List[dict], test_cfg: ConfigType) -> Tensor:
        seg_logits = self.forward(inputs, text_feats)
        return self.predict_by_feat(seg_logits, batch_img_metas)
