"""RSRefSeg 2's encoders: SAM 2's image encoder and SigLIP's image and text towers."""
from typing import Dict, List, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from mmrrsis.models.utils import TextFeats
from mmrrsis.registry import MODELS


@MODELS.register_module()
class RSRefSeg2Encoder(BaseModule):
    """The three encoders of RSRefSeg 2 (Sec. III-B of the paper), run on one batch.

    A backbone that reads text (``takes_text = True``). The (B, 3, H, W) input is RGB in
    [0, 1] (the data preprocessor divides by 255 and pads with 0); each tower normalises it as
    its pre-training did. Returns SAM 2's maps ``[s0, s1, emb]`` (see
    :class:`~mmrrsis.models.backbones.HFSam2ImageEncoder`) and :class:`TextFeats` with
    ``feats`` (B, L, C_t) and ``mask`` (B, L) of the text tower, ``pooled`` (B, C_t) its head
    on the last position, ``vision_feats`` (B, N, C_i) the SigLIP image tokens, and SigLIP's
    ``logit_scale`` / ``logit_bias`` (1, ).

    Args:
        sam2 (dict): Config of the SAM 2 image encoder (``HFSam2ImageEncoder``).
        vision (dict): Config of the SigLIP vision tower (``HFSiglipVisionTower``).
        text (dict): Config of the SigLIP text tower (``HFSiglipTextTower``, with
            ``with_logit_params=True``).
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """
    takes_text = True
    # both image encoders are the vision side in get_flops' and the model zoo's breakdown
    component_map = {'sam2': 'vision', 'vision': 'vision', 'text': 'text'}

    def __init__(self, sam2: dict, vision: dict, text: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.sam2 = MODELS.build(sam2)
        self.vision = MODELS.build(vision)
        self.text = MODELS.build(text)
        if not getattr(self.text, 'with_logit_params', False):
            raise ValueError('RSRefSeg2Encoder: the text tower must hold SigLIP\'s logit_scale '
                             'and logit_bias (with_logit_params=True)')

    def forward(self, inputs: Tensor,
                text: Dict[str, Tensor]) -> Tuple[List[Tensor], TextFeats]:
        """Encodes (B, 3, H, W) images in [0, 1] and their tokenized expressions (``input_ids``
        and ``attention_mask``, (B, L) each)."""
        feats = self.sam2(inputs)
        text_feats = TextFeats(self.text.encode_text(text))
        text_feats['vision_feats'] = self.vision(inputs)
        text_feats['logit_scale'] = self.text.logit_scale
        text_feats['logit_bias'] = self.text.logit_bias
        return feats, text_feats
