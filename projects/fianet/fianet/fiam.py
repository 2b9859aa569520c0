"""FIANet's fine-grained image-text alignment module (FIAM; FIANet, Lei et al. TGRS 2025, as
its published code computes it)."""
from typing import Dict, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from mmrrsis.models.fusions import PWAM
from mmrrsis.models.utils import LanguageGate, PixelWordAttention
from mmrrsis.registry import MODELS

TextPasses = Dict[str, Tuple[Tensor, Tensor]]


@MODELS.register_module()
class FIAM(BaseModule):
    """Aligns one Swin stage with the context, ground-object and spatial-position texts.

    With V (B, N, C) the output of the stage's blocks, (L_c, m_c), (L_o, m_o), (L_p, m_p)
    the expression encoded under the full, object and position masks, A a pixel-word
    attention (:class:`PixelWordAttention`, own weights each) and T a tanh gate
    (:class:`LanguageGate`)::

        F_c = PWAM(V, L_c, m_c)                       context branch (LAVT's PWAM)
        G_c = T_c(F_c) ⊙ F_c
        F_o = A_o(V, L_o, m_o),  G_o = T_o(F_o) ⊙ F_o  ground-object branch
        F_p = A_p(V, L_p, m_p)                        spatial-position branch
        s   = sigmoid(conv3x3([mean_C F_p; max_C F_p]))       (B, 1, h, w)
        O   = G_o ⊙ s                                 object-position alignment
        w   = sigmoid(W_2 ReLU(W_1 mean_N V))         channel modulation, (B, C)
        next stage  V' = V + w ⊙ (G_c + O)
        stage output    F_c                           (normed by the Swin's norm_i)

    A sample whose object mask is empty gets F_o = 0. The switches below are the paper's
    ablations; all three off is LAVT's PWAM with its gate. As a fusion of
    :class:`StageWiseExtractor` (``takes_text_passes``) it receives the object and position
    text passes.

    Args:
        vis_channels (int): Channels C of the stage.
        text_channels (int): Word channels C_l. Defaults to 768.
        num_heads (int): Heads of every pixel-word attention. Defaults to 1.
        dropout (float): Dropout of the context branch. Defaults to 0.
        last_stage (bool): The stage feeds no later stage: build the context branch only
            and pass V on unchanged. Defaults to False.
        with_object (bool): Build the ground-object branch; False needs
            ``with_position=False``. Defaults to True.
        with_position (bool): Build the spatial-position branch (False: s = 1).
            Defaults to True.
        with_channel_mod (bool): Build the channel modulation (False: w = 1).
            Defaults to True.
        object_pass (str): Name of the object text pass. Defaults to 'object_mask'.
        position_pass (str): Name of the position text pass. Defaults to 'position_mask'.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    takes_text_passes = True

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 num_heads: int = 1,
                 dropout: float = 0.0,
                 last_stage: bool = False,
                 with_object: bool = True,
                 with_position: bool = True,
                 with_channel_mod: bool = True,
                 object_pass: str = 'object_mask',
                 position_pass: str = 'position_mask',
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if last_stage and (with_object or with_position or with_channel_mod):
            raise ValueError('FIAM: last_stage=True builds the context branch only; set '
                             'with_object, with_position and with_channel_mod to False as well')
        if with_position and not with_object:
            raise ValueError('FIAM: the position branch gates the object features '
                             '(O = G_o * s), so with_position=True needs with_object=True')
        self.vis_channels = vis_channels
        self.text_channels = text_channels
        self.with_object = with_object
        self.with_position = with_position
        self.last_stage = last_stage
        self.object_pass = object_pass
        self.position_pass = position_pass
        self.context = PWAM(vis_channels, text_channels, num_heads=num_heads, dropout=dropout,
                            last_stage=last_stage)
        if with_object:
            self.object_attn = PixelWordAttention(vis_channels, text_channels,
                                                  num_heads=num_heads)
            self.object_gate = LanguageGate(vis_channels)
        if with_position:
            self.position_attn = PixelWordAttention(vis_channels, text_channels,
                                                    num_heads=num_heads)
            self.position_conv = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.channel_mod = nn.Sequential(
            nn.Linear(vis_channels, vis_channels // 8), nn.ReLU(),
            nn.Linear(vis_channels // 8, vis_channels), nn.Sigmoid()) if with_channel_mod else None

    def init_weights(self) -> None:
        """Truncated-normal linears of the channel modulation (std 0.02, bias 0), as the
        reference initialises every linear of its backbone; the attention projections keep
        PyTorch's defaults, as the reference's convolutions do."""
        super().init_weights()
        if self.channel_mod is not None:
            for layer in (self.channel_mod[0], self.channel_mod[2]):
                trunc_normal_(layer.weight, std=0.02)
                nn.init.zeros_(layer.bias)

    def _pass(self, text_passes: TextPasses, name: str) -> Tuple[Tensor, Tensor]:
        if name not in text_passes:
            raise KeyError(f'FIAM needs the text pass {name!r}, but the extractor ran only '
                           f'{sorted(text_passes)} before its stages; declare it in the '
                           'extractor\'s text_passes with to_fusions=True')
        return text_passes[name]

    def object_position(self, vis: Tensor, hw_shape: Tuple[int, int],
                        text_passes: TextPasses) -> Tensor:
        """O, the object features gated by the position map.

        Args:
            vis (Tensor): (B, N, C) pixel features V.
            hw_shape (tuple[int, int]): (h, w) with h * w = N.
            text_passes (dict): ``object_pass`` and ``position_pass`` -> ((B, Nt, C_l)
                words, (B, Nt) mask).

        Returns:
            Tensor: (B, N, C) O; 0 for the samples whose object mask is empty.
        """
        words, mask = self._pass(text_passes, self.object_pass)
        obj = self.object_attn(vis, words, mask)
        has_object = mask.bool().any(dim=1)[:, None, None]
        obj = torch.where(has_object, obj, 0.0)
        obj = self.object_gate(obj) * obj
        if not self.with_position:
            return obj
        words, mask = self._pass(text_passes, self.position_pass)
        pos = self.position_attn(vis, words, mask)
        pooled = torch.stack([pos.mean(dim=-1), pos.amax(dim=-1)], dim=1)
        spatial = self.position_conv(pooled.view(-1, 2, *hw_shape)).sigmoid()
        return obj * spatial.flatten(2).transpose(1, 2)

    def forward(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor, text_mask: Tensor,
                text_passes: TextPasses) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage.

        Args:
            vis (Tensor): (B, N, C) output V of the stage's Swin blocks, N = h * w.
            hw_shape (tuple[int, int]): (h, w).
            text (Tensor): (B, Nt, C_l) context words L_c.
            text_mask (Tensor): (B, Nt) m_c, 1 for real tokens.
            text_passes (dict): ``object_pass`` / ``position_pass`` -> ((B, Nt, C_l) words,
                (B, Nt) mask).

        Returns:
            tuple[Tensor]: next-stage input V' and stage output F_c, each (B, N, C), and the
            context words, unchanged.
        """
        channels = vis.shape[-1]
        if channels != self.vis_channels or text.shape[-1] != self.text_channels:
            raise ValueError(f'FIAM built for {self.vis_channels} visual / '
                             f'{self.text_channels} text channels got {channels} / '
                             f'{text.shape[-1]}')
        context = self.context.multimodal(vis, text, text_mask)
        if self.context.gate is None:
            return vis, context, text
        update = self.context.gate(context) * context
        if self.with_object:
            update = update + self.object_position(vis, hw_shape, text_passes)
        if self.channel_mod is not None:
            update = update * self.channel_mod(vis.mean(dim=1))[:, None, :]
        return vis + update, context, text

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, text_channels={self.text_channels}, '
                f'last_stage={self.last_stage}, with_object={self.with_object}, '
                f'with_position={self.with_position}, '
                f'with_channel_mod={self.channel_mod is not None}')
