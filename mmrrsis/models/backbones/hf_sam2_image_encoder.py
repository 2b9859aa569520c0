"""SAM 2's image encoder (Hiera + FPN) of ``transformers`` as an mmrrsis backbone."""
from typing import List, Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor

from mmrrsis.registry import MODELS
from ..utils.hf_models import adapt, build_sam2_config
from ..utils.lora import load_base_weights

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@MODELS.register_module()
class HFSam2ImageEncoder(BaseModule):
    """The image side of ``transformers.Sam2Model``, without its video memory.

    Runs what ``Sam2Model.get_image_features`` runs, on (B, 3, H, W) RGB in [0, 1] normalised
    with ``mean``/``std`` (H, W multiples of the coarsest stride, 16 × the FPN's scalp), and
    returns the three maps SAM 2's mask decoder reads for a single image:
    ``[s0 (B, C/8, H/4, W/4), s1 (B, C/4, H/8, W/8), emb (B, C, H/16, W/16)]``, s0 and s1 through
    the decoder's ``conv_s0``/``conv_s1`` (held here), emb with ``no_memory_embedding`` added;
    C is the FPN width (256 in SAM 2). ``Sam2Model.forward`` is never called (it adds a
    padding point and resizes the masks with antialiasing).

    The architecture comes from ``sam2_config`` alone; :meth:`init_weights` reads
    ``pretrained``. State-dict names: ``vision_encoder.*`` (``Sam2VisionModel``),
    ``conv_s0``, ``conv_s1``, ``no_memory_embedding``, as ``Sam2Model`` names them (the two
    convolutions without ``mask_decoder.``).

    Args:
        sam2_config (dict): ``transformers.Sam2Config`` arguments (nested configs as dicts;
            the backbone's with ``model_type='sam2_hiera_det_model'``).
        pretrained (str, optional): Hub name or local folder of a ``Sam2Model`` checkpoint
            (``facebook/sam2.1-hiera-large``). Defaults to None.
        mean (Sequence[float]): Per-channel mean of the [0, 1] input. Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std. Defaults to ImageNet's.
        frozen (bool): Freeze ``vision_encoder`` (not ``conv_s0``/``conv_s1`` and
            ``no_memory_embedding``). Defaults to False.
        lora (dict, optional): :func:`~mmrrsis.models.utils.lora.add_lora` arguments for
            ``vision_encoder`` (names such as ``backbone.blocks.3.attn.qkv``,
            ``neck.convs.0``). Defaults to None.
        with_cp (bool): Activation checkpointing of the Hiera blocks. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 sam2_config: dict,
                 pretrained: Optional[str] = None,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 frozen: bool = False,
                 lora: Optional[dict] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        import torch
        from torch import nn
        from transformers import Sam2VisionModel
        self.pretrained = pretrained
        config = build_sam2_config(sam2_config, type(self).__name__)
        if config.vision_config.num_feature_levels != 3:
            raise ValueError(f'{type(self).__name__}: SAM 2\'s mask decoder reads 3 feature '
                             f'levels, the config gives {config.vision_config.num_feature_levels}')
        self.vision_encoder = Sam2VisionModel(config.vision_config)
        width = config.vision_config.fpn_hidden_size
        self.conv_s0 = nn.Conv2d(width, width // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(width, width // 4, kernel_size=1)
        self.no_memory_embedding = nn.Parameter(torch.zeros(1, 1, width))
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        adapt(self.vision_encoder, lora, frozen, with_cp, type(self).__name__)

    @property
    def embed_dims(self) -> int:
        """int: the FPN width C."""
        return self.vision_encoder.config.fpn_hidden_size

    def init_weights(self):
        """Loads the image side of ``pretrained`` (the LoRA adapters keep their
        initialisation), then applies ``init_cfg``."""
        if self.pretrained:
            from transformers import Sam2Model
            source = Sam2Model.from_pretrained(self.pretrained)
            load_base_weights(self.vision_encoder, source.vision_encoder.state_dict(),
                              self.pretrained)
            self.conv_s0.load_state_dict(source.mask_decoder.conv_s0.state_dict())
            self.conv_s1.load_state_dict(source.mask_decoder.conv_s1.state_dict())
            self.no_memory_embedding.data.copy_(source.no_memory_embedding.data)
        if self.init_cfg is not None:
            super().init_weights()

    def forward(self, images: Tensor) -> List[Tensor]:
        """Encodes (B, 3, H, W) images in [0, 1]; returns [s0, s1, emb] (see the class)."""
        x = (images - self.mean) / self.std
        s0, s1, emb = self.vision_encoder(pixel_values=x).fpn_hidden_states
        emb = emb + self.no_memory_embedding.view(1, -1, 1, 1)
        return [self.conv_s0(s0), self.conv_s1(s1), emb]
