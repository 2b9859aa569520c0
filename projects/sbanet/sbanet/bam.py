"""SBANet's Bidirectional Alignment Module, one per Swin stage (reconstructed, see the README)."""
import copy
from typing import Sequence, Tuple

import torch
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.utils import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from mmrrsis.models.utils import LanguageGate, SDPAttention, pixel_instance_norm
from mmrrsis.registry import MODELS

DIRECTIONS = ('l2v', 'v2l')


@MODELS.register_module()
class BAM(BaseModule):
    """Bidirectional Alignment Module: learnable queries carry words to pixels and back.

    The paper's BAM takes the place of LAVT's PWAM at every stage and updates both the
    visual and the linguistic features through learnable query tokens and a query-text
    alignment, with DFS inside. What follows beyond those roles is a choice, not from the
    paper (see the project README). With X (B, N, C) the output of a Swin stage's blocks,
    L (B, Nt, C_l) the words, m (B, Nt) their mask and Q (Nq, C) the stage's queries::

        X̃  = DFS(X)                               (X itself when dfs=None)
        Q¹ = Q + Attn(LN(Q), T, m)                 T = LN(Linear_{C_l→C}(L))   alignment
        Q² = Q¹ + Attn(LN(Q¹), LN(X̃))                                       queries read
        Q³ = Q² + FFN(LN(Q²))                                               the image
        F  = P_o(GELU(P_v(X)) ⊙ IN(Attn(LN(X), Q³)))                        'l2v'
        E  = X + g_v(F) ⊙ F                        g_v: LanguageGate (tanh)
        L' = L + m ⊙ g_l(A) ⊙ A,   A = Attn(LN(L), Q³)                      'v2l'

    Attn is multi-head attention (``SDPAttention``, ``num_heads``; padded tokens are never
    attended to), FFN has a GELU; A's keys and values map the queries straight to C_l. IN
    normalises each channel over the pixels, as PWAM's language term (``pixel_norm``).
    g_l's last linear starts at zero, so L' = L at step 0; padded tokens never change. As in
    LAVT, the next stage gets E and the decoder F (after the stage's norm).

    Args:
        vis_channels (int): Channels C of the stage (also the width of the queries).
        text_channels (int): Word channels C_l. Defaults to 768.
        num_queries (int): Learnable queries Nq of the stage. Defaults to 16.
        num_heads (int): Heads of every attention. Defaults to 8.
        ffn_ratio (int): Hidden width of the queries' FFN over C. Defaults to 4.
        query_std (float): Standard deviation of the queries' truncated normal
            initialisation. Defaults to 1.0.
        pixel_norm (bool): Instance-normalise the queries' message to the pixels (IN above);
            False drops IN. Defaults to True.
        dfs (dict, optional): Config of the DFS block the queries read (``channels`` and
            ``text_channels`` are filled in); None: they read the stage features directly
            (the "w/o DFS" ablation). Defaults to ``dict(type='DFS')``.
        directions (Sequence[str]): ``'l2v'`` (always: it makes F) and optionally ``'v2l'``,
            the text update; ``('l2v', )`` returns L unchanged and builds no text-update
            weights. Defaults to ('l2v', 'v2l').
        last_stage (bool): The stage feeds no later stage: g_v is not built and X is
            returned as E. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 vis_channels: int,
                 text_channels: int = 768,
                 num_queries: int = 16,
                 num_heads: int = 8,
                 ffn_ratio: int = 4,
                 query_std: float = 1.0,
                 pixel_norm: bool = True,
                 dfs: OptConfigType = dict(type='DFS'),
                 directions: Sequence[str] = DIRECTIONS,
                 last_stage: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        directions = tuple(directions)
        if 'l2v' not in directions or len(set(directions)) != len(directions) or \
                not set(directions) <= set(DIRECTIONS):
            raise ValueError(f'BAM directions {directions} must be ("l2v",) or '
                             '("l2v", "v2l"): the vision update makes the stage output')
        if num_queries < 1:
            raise ValueError(f'BAM num_queries must be positive, got {num_queries}')
        for name, width in (('vis_channels', vis_channels), ('text_channels', text_channels)):
            if width % num_heads:
                raise ValueError(f'BAM num_heads={num_heads} must divide {name}={width}')
        self.vis_channels = vis_channels
        self.text_channels = text_channels
        self.num_queries = num_queries
        self.query_std = query_std
        self.pixel_norm = pixel_norm
        self.directions = directions
        channels = vis_channels

        if dfs is None:
            self.dfs = None
        else:
            dfs = copy.deepcopy(dict(dfs))
            dfs.setdefault('channels', channels)
            dfs.setdefault('text_channels', text_channels)
            self.dfs = MODELS.build(dfs)
        self.queries = nn.Parameter(torch.zeros(num_queries, channels))
        # query-text alignment
        self.text_proj = nn.Linear(text_channels, channels)
        self.text_norm = nn.LayerNorm(channels)
        self.align_norm = nn.LayerNorm(channels)
        self.align_attn = SDPAttention(channels, num_heads)
        # the queries read the image
        self.read_norm = nn.LayerNorm(channels)
        self.scene_norm = nn.LayerNorm(channels)
        self.read_attn = SDPAttention(channels, num_heads)
        self.ffn_norm = nn.LayerNorm(channels)
        self.ffn = FFN(channels, channels * ffn_ratio, act_cfg=dict(type='GELU'),
                       add_identity=False)
        # language -> vision
        self.vis_norm = nn.LayerNorm(channels)
        self.l2v_attn = SDPAttention(channels, num_heads)
        self.vis_proj = nn.Sequential(nn.Linear(channels, channels), nn.GELU())
        self.out_proj = nn.Linear(channels, channels)
        self.last_stage = last_stage
        self.gate = None if last_stage else LanguageGate(channels)
        # vision -> language
        if 'v2l' in directions:
            self.word_norm = nn.LayerNorm(text_channels)
            self.v2l_attn = SDPAttention(text_channels, num_heads, key_dims=channels)
            self.text_gate = LanguageGate(text_channels)
        self._init_own_params()

    def _init_own_params(self) -> None:
        trunc_normal_(self.queries, std=self.query_std)
        if 'v2l' in self.directions:
            # L' = L at step 0: BERT's features are undisturbed until the gate learns
            nn.init.zeros_(self.text_gate[2].weight)

    def init_weights(self) -> None:
        """mmengine initialisation of the children (the gates' truncated normal), then the
        queries' truncated normal and the closed text gate."""
        super().init_weights()
        self._init_own_params()

    def read_image(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor,
                   text_mask: Tensor) -> Tensor:
        """Q³: the queries after the alignment with the words and the read of the image.

        Args:
            vis (Tensor): (B, N, C) output of the stage's Swin blocks, N = h * w.
            hw_shape (tuple[int, int]): (h, w).
            text (Tensor): (B, Nt, C_l) word features.
            text_mask (Tensor): (B, Nt), 1 for real tokens, 0 for padding.

        Returns:
            Tensor: (B, Nq, C) queries.
        """
        scene = vis
        if self.dfs is not None:
            vis_map = vis.transpose(1, 2).reshape(vis.shape[0], vis.shape[2], *hw_shape)
            scene = self.dfs(vis_map, text, text_mask).flatten(2).transpose(1, 2)
        scene = self.scene_norm(scene)
        queries = self.queries.expand(vis.shape[0], -1, -1)
        words = self.text_norm(self.text_proj(text))
        queries = queries + self.align_attn(self.align_norm(queries), words,
                                            key_mask=text_mask)
        queries = queries + self.read_attn(self.read_norm(queries), scene)
        return queries + self.ffn(self.ffn_norm(queries))

    def forward(self, vis: Tensor, hw_shape: Tuple[int, int], text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuses one stage both ways.

        Args:
            vis (Tensor): (B, N, C) output X of the stage's Swin blocks, N = h * w.
            hw_shape (tuple[int, int]): (h, w).
            text (Tensor): (B, Nt, C_l) word features L.
            text_mask (Tensor): (B, Nt), 1 for real tokens, 0 for padding.

        Returns:
            tuple[Tensor]: next-stage input E and stage output F, each (B, N, C), and
            L' (B, Nt, C_l) (``text`` itself without 'v2l').
        """
        channels = vis.shape[-1]
        if channels != self.vis_channels or text.shape[-1] != self.text_channels:
            raise ValueError(f'BAM built for {self.vis_channels} visual / '
                             f'{self.text_channels} text channels got {channels} / '
                             f'{text.shape[-1]}')
        queries = self.read_image(vis, hw_shape, text, text_mask)
        message = self.l2v_attn(self.vis_norm(vis), queries)
        if self.pixel_norm:
            message = pixel_instance_norm(message)
        fused = self.out_proj(self.vis_proj(vis) * message)
        next_vis = vis if self.gate is None else vis + self.gate(fused) * fused
        if 'v2l' in self.directions:
            update = self.v2l_attn(self.word_norm(text), queries)
            real = text_mask[..., None].to(text.dtype)
            text = text + real * self.text_gate(update) * update
        return next_vis, fused, text

    def extra_repr(self) -> str:
        return (f'vis_channels={self.vis_channels}, text_channels={self.text_channels}, '
                f'num_queries={self.num_queries}, directions={self.directions}, '
                f'last_stage={self.last_stage}')
