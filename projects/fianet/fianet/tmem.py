"""FIANet's text-aware multi-scale enhancement module (TMEM; FIANet, Lei et al. TGRS 2025, as
its published code computes it)."""
from typing import Dict, List, Sequence

from mmengine.model.weight_init import trunc_normal_
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from mmrrsis.models.utils import CrossScaleMixer, PixelWordAttention
from mmrrsis.registry import MODELS


class TMEMBlock(nn.Module):
    """One pre-norm block of TMEM on the pooled multi-scale tokens X (B, N, D)::

        X = X + A(LN(X), L, m)          A: PixelWordAttention
        X = X + FFN(LN(X))              FFN: Linear D->rD, GELU, Linear rD->D

    Args:
        channels (int): Token width D.
        text_channels (int): Word channels C_l.
        num_heads (int): Heads of the pixel-word attention.
        ffn_ratio (int): Hidden width of the FFN in units of D.
    """

    def __init__(self, channels: int, text_channels: int, num_heads: int, ffn_ratio: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.attn = PixelWordAttention(channels, text_channels, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(channels)
        self.ffn = nn.Sequential(
            nn.Linear(channels, ffn_ratio * channels), nn.GELU(),
            nn.Linear(ffn_ratio * channels, channels))

    def forward(self, x: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        """(B, N, D) tokens, (B, Nt, C_l) words and (B, Nt) mask -> (B, N, D) tokens."""
        x = x + self.attn(self.norm1(x), text, text_mask)
        return x + self.ffn(self.norm2(x))


@MODELS.register_module()
class TMEM(CrossScaleMixer):
    """Text-guided fusion of the four stage outputs at the coarsest scale, fed back per scale.

    With Y_i (B, C_i, h_i, w_i) the backbone outputs (finest first) and (L, m) the context
    text::

        X   = conv1x1(cat_i avgpool(Y_i) to h_4 x w_4)       sum C_i -> D = sum C_i / 4
        X   = TMEMBlock(X, L, m), num_blocks times           on the h_4 w_4 tokens
        G   = conv1x1(BN(X)), split into G_i (B, C_i, h_4, w_4)
        Out_i = ScaleAwareGate_i(Y_i, G_i)                   no identity shortcut

    It is :class:`CrossScaleMixer` with TMEM blocks, run on the map's tokens. The pooling is
    adaptive, so any input whose sides the backbone divides works. As a neck
    of :class:`ReferringEncoderDecoder` (``takes_text``) it reads ``text_feats['feats']``
    and ``text_feats['mask']``.

    Args:
        in_channels (Sequence[int]): Channels C_i of the backbone outputs, finest first
            (Swin-B: 128, 256, 512, 1024).
        text_channels (int): Word channels C_l. Defaults to 768.
        num_blocks (int): TMEM blocks (FIANet: 1 on RefSegRS, 3 on RRSIS-D). Defaults to 1.
        num_heads (int): Heads of the blocks' pixel-word attention. Defaults to 1.
        ffn_ratio (int): FFN hidden width in units of D. Defaults to 2.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text = True

    def __init__(self,
                 in_channels: Sequence[int],
                 text_channels: int = 768,
                 num_blocks: int = 1,
                 num_heads: int = 1,
                 ffn_ratio: int = 2,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            in_channels,
            lambda hidden: TMEMBlock(hidden, text_channels, num_heads, ffn_ratio),
            num_blocks=num_blocks,
            init_cfg=init_cfg)
        self.text_channels = text_channels

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # TMEMs before CrossScaleMixer named the projections and norm down_proj, bn, up_proj
        for old, new in (('down_proj.', 'in_proj.'), ('bn.', 'out_bn.'),
                         ('up_proj.', 'out_proj.')):
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict.setdefault(prefix + new + key[len(prefix + old):],
                                      state_dict.pop(key))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def init_weights(self) -> None:
        """Truncated-normal FFN linears (std 0.02, bias 0), as the reference initialises every
        linear of the backbone it sits in; the attention projections and convolutions keep
        PyTorch's defaults."""
        super().init_weights()
        for block in self.blocks:
            for layer in (block.ffn[0], block.ffn[2]):
                trunc_normal_(layer.weight, std=0.02)
                nn.init.zeros_(layer.bias)

    def mix(self, x: Tensor, text_feats: Dict[str, Tensor]) -> Tensor:
        """Runs the blocks on the h_4 w_4 tokens of the (B, D, h_4, w_4) map ``x``."""
        batch, hidden, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        for block in self.blocks:
            tokens = block(tokens, text_feats['feats'], text_feats['mask'])
        return tokens.transpose(1, 2).reshape(batch, hidden, height, width)

    def forward(self, inputs: Sequence[Tensor], text_feats: Dict[str, Tensor]) -> List[Tensor]:
        """Enhances the stage outputs.

        Args:
            inputs (Sequence[Tensor]): Y_i, each (B, C_i, h_i, w_i), finest first.
            text_feats (dict): ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt).

        Returns:
            list[Tensor]: Out_i, each (B, C_i, h_i, w_i).
        """
        return super().forward(inputs, text_feats)
