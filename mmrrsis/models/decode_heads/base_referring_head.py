"""Base class for decode heads that read the expression's features."""
from abc import abstractmethod
from typing import Dict, List, Tuple

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ..utils.text_feats import TextFeats


class BaseReferringDecodeHead(BaseDecodeHead):
    """mmseg's ``BaseDecodeHead`` whose forward also takes the text features.

    The head's interface to the segmentor, declared by class attributes:

    - ``takes_text = True``: ``forward``, ``loss`` and ``predict`` take ``text_feats``
      (:class:`TextFeats`) after the visual features;
    - ``mask_loss = True``: the loss is ``loss_by_feat`` of the ``forward`` logits against
      the GT masks, so the segmentor may score a subset of the samples;
    - ``extra_outputs``: names of what :meth:`forward_outputs` returns besides the logits
      (e.g. ``('target_prototype', )``), for other heads to read in the same pass.
    """
    takes_text = True
    mask_loss = True
    extra_outputs: Tuple[str, ...] = ()

    @abstractmethod
    def forward(self, inputs: List[Tensor], text_feats: TextFeats) -> Tensor:
        """Returns (B, num_classes, h, w) logits."""

    def forward_outputs(self, inputs: List[Tensor],
                        text_feats: TextFeats) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The logits and the ``extra_outputs`` by name, from one forward pass."""
        return self.forward(inputs, text_feats), {}

    def loss(self, inputs: List[Tensor], text_feats: TextFeats,
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        seg_logits = self.forward(inputs, text_feats)
        return self.loss_by_feat(seg_logits, batch_data_samples)

    def predict(self, inputs: List[Tensor], text_feats: TextFeats,
                batch_img_metas: List[dict], test_cfg: ConfigType) -> Tensor:
        seg_logits = self.forward(inputs, text_feats)
        return self.predict_by_feat(seg_logits, batch_img_metas)
