"""SigLIP / SigLIP 2 (FixRes) vision transformer of ``transformers`` as an mmrrsis backbone."""
from typing import Optional, Sequence

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmrrsis.registry import MODELS
from ..utils.hf_models import adapt, hf_config
from ..utils.lora import load_base_weights


@MODELS.register_module()
class HFSiglipVisionTower(BaseModule):
    """``transformers.SiglipVisionModel`` on (B, 3, H, W) RGB images in [0, 1].

    The images are normalised with ``mean``/``std`` and resized bilinearly (no antialias) to
    the model's ``image_size``; the output is the last hidden state after the post-LayerNorm,
    (B, N, C) with N = (image_size / patch_size)² tokens in row-major order. SigLIP 2's
    fixed-resolution checkpoints (``google/siglip2-so400m-patch16-512``) are of this class.

    The architecture comes from ``config`` alone, so the tower builds offline; the weights of
    ``pretrained`` are read by :meth:`init_weights` (as mmseg's ``init_cfg``), never at build.

    Args:
        config (dict): ``transformers.SiglipVisionConfig`` arguments. Set
            ``vision_use_head=False`` unless the attention-pooling head is used.
        pretrained (str, optional): Hub name or local folder of a ``SiglipModel`` or
            ``SiglipVisionModel`` checkpoint, loaded by :meth:`init_weights`. Defaults to None.
        mean (Sequence[float]): Per-channel mean of the [0, 1] input. Defaults to (0.5, ) * 3.
        std (Sequence[float]): Per-channel std. Defaults to (0.5, ) * 3.
        frozen (bool): Freeze the model's own weights. Defaults to False.
        lora (dict, optional): :func:`~mmrrsis.models.utils.lora.add_lora` arguments
            (``target``, ``r``, ``alpha``, ``dropout``). Defaults to None.
        with_cp (bool): Activation checkpointing of the encoder layers. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 config: dict,
                 pretrained: Optional[str] = None,
                 mean: Sequence[float] = (0.5, 0.5, 0.5),
                 std: Sequence[float] = (0.5, 0.5, 0.5),
                 frozen: bool = False,
                 lora: Optional[dict] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from transformers import SiglipVisionModel
        self.pretrained = pretrained
        self.model = SiglipVisionModel(hf_config('SiglipVisionConfig', config,
                                                 type(self).__name__))
        self.register_buffer('mean', _channels(mean), persistent=False)
        self.register_buffer('std', _channels(std), persistent=False)
        adapt(self.model, lora, frozen, with_cp, type(self).__name__)

    @property
    def embed_dims(self) -> int:
        """int: token width C."""
        return self.model.config.hidden_size

    @property
    def grid_size(self) -> int:
        """int: tokens per side, image_size // patch_size."""
        return self.model.config.image_size // self.model.config.patch_size

    def init_weights(self):
        """Loads ``pretrained`` (the LoRA adapters keep their initialisation), then applies
        ``init_cfg``."""
        if self.pretrained:
            from transformers import SiglipVisionModel
            source = SiglipVisionModel.from_pretrained(
                self.pretrained, vision_use_head=self.model.config.vision_use_head)
            load_base_weights(self.model, source.state_dict(), self.pretrained)
        if self.init_cfg is not None:
            super().init_weights()

    def forward(self, images: Tensor) -> Tensor:
        """Encodes (B, 3, H, W) images in [0, 1]; returns (B, N, C) tokens."""
        size = self.model.config.image_size
        x = (images - self.mean) / self.std
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
        return self.model(pixel_values=x).last_hidden_state


def _channels(values: Sequence[float]):
    import torch
    return torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
