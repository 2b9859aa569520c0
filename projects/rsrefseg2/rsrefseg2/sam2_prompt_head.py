"""RSRefSeg 2's head: SAM 2's prompt encoder and mask decoder fed with the prompter's prompts."""
from typing import List, Optional

from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from mmrrsis.models.decode_heads.base_referring_head import BaseReferringDecodeHead
from mmrrsis.models.utils import TextFeats
from mmrrsis.registry import MODELS


@MODELS.register_module()
class SAM2PromptHead(BaseReferringDecodeHead):
    """SAM 2's mask decoder on prompts made by a model (Sec. III-D of the paper).

    Reads ``[s0, s1, emb, sparse, dense, q1, q2]`` (:class:`CascadedPrompter`): the dense
    prompt goes through the prompt encoder's mask embedding and is added to ``emb``, the
    sparse prompts enter as SAM 2's sparse embeddings, and the mask decoder returns token 0's
    mask, (B, 1, 4h, 4w) logits. In eval mode, with ``stability_fallback``, an unstable token-0
    mask is replaced by the best of tokens 1-3 (SAM 2's dynamic multimask, on in the released
    model's evaluation).

    Losses: ``loss_decode`` on the logits resized to the label (mmseg's ``loss_by_feat``),
    plus ``decorrelation_loss`` on (q1, q2) and ``contrast_loss`` on the SigLIP tokens, q2
    and the label.

    Args:
        decoder (dict): Config of the SAM 2 prompt encoder and mask decoder
            (``HFSam2MaskDecoder``: ``sam2_config``, ``pretrained``).
        stability_fallback (bool): SAM 2's eval-time fallback. Defaults to True.
        decorrelation_loss (dict, optional): Config of the query decorrelation loss.
        contrast_loss (dict, optional): Config of the region-text contrast loss.
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments
            (``loss_decode``, ``threshold``, ``ignore_index``, ``align_corners``...).
    """
    mask_loss = False

    def __init__(self,
                 decoder: dict,
                 stability_fallback: bool = True,
                 decorrelation_loss: Optional[dict] = None,
                 contrast_loss: Optional[dict] = None,
                 **kwargs):
        kwargs.setdefault('threshold', 0.5)
        super().__init__(in_channels=1, channels=1, num_classes=1, out_channels=1, **kwargs)
        del self.conv_seg
        self.sam = MODELS.build(decoder)
        self.sam.dynamic_multimask_via_stability = stability_fallback
        self.decorrelation_loss = MODELS.build(decorrelation_loss) if decorrelation_loss \
            else None
        self.contrast_loss = MODELS.build(contrast_loss) if contrast_loss else None

    def init_weights(self):
        self.sam.init_weights()

    def forward(self, inputs: List[Tensor], text_feats: TextFeats) -> Tensor:
        """Returns (B, 1, 4h, 4w) mask logits."""
        s0, s1, emb, sparse, dense = inputs[:5]
        masks, _ = self.sam([s0, s1, emb], sparse, dense)
        return masks

    def loss(self, inputs: List[Tensor], text_feats: TextFeats,
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        """Mask losses plus the two auxiliary terms."""
        losses = self.loss_by_feat(self.forward(inputs, text_feats), batch_data_samples)
        losses.pop('acc_seg', None)  # one channel: mmseg's accuracy is meaningless
        q1, q2 = inputs[5:7]
        if self.decorrelation_loss is not None:
            losses[self.decorrelation_loss.loss_name] = self.decorrelation_loss(q1, q2)
        if self.contrast_loss is not None:
            label = self._stack_batch_gt(batch_data_samples)[:, 0]
            vision = text_feats.require('vision_feats', type(self).__name__,
                                        'the SigLIP tokens for the contrast loss')
            losses[self.contrast_loss.loss_name] = self.contrast_loss(vision, q2, label)
        return losses
