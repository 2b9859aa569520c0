"""BTDNet's Target-Background TwinStream decoder (T-BTD), paper section III-D."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.transformer import FFN
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import OptMultiConfig, SampleList
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils import (CrossAttentionLayer, MSDeformAttention, SDPAttention,
                     sine_positional_encoding)
from ..utils.text_feats import TextFeats, text_item
from .base_referring_head import BaseReferringDecodeHead


class MCILayer(nn.Module):
    """One Multi-scale Context Integration iteration (paper III-D1, Eqs. 6-7), pre-norm.

    V-L: ``T <- T + CrossAttn(T, X)``, ``T <- T + FFN(T)``. L-V: ``X <- X + CrossAttn(X, T)``
    (padded tokens masked), then multi-scale attention among X's levels, then
    ``X <- X + FFN(X)``. The multi-scale attention is either exact self-attention over all
    levels' tokens through SDPA (``'sdpa'``: every pixel sees every other one; fused kernels,
    no (ΣHW)^2 matrix held by this code, but O((ΣHW)^2) compute), or multi-scale deformable
    attention (``'deformable'``: a few learned sampling points per level, O(ΣHW)).

    Args:
        embed_dims (int): Fusion width D.
        num_levels (int): Levels in X. Defaults to 3.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_ratio (int): FFN hidden width as a multiple of D. Defaults to 4.
        dropout (float): Attention/FFN dropout. Defaults to 0.
        ms_attn (str): ``'sdpa'`` or ``'deformable'``. Defaults to 'sdpa'.
        num_points (int): Sampling points per level and head of the deformable attention.
            Defaults to 4.
    """

    def __init__(self, embed_dims: int, num_levels: int = 3, num_heads: int = 8,
                 ffn_ratio: int = 4, dropout: float = 0.0, ms_attn: str = 'sdpa',
                 num_points: int = 4):
        super().__init__()
        if ms_attn not in ('sdpa', 'deformable'):
            raise ValueError(f"MCILayer: ms_attn must be 'sdpa' or 'deformable', got {ms_attn!r}")
        self.vl_layer = CrossAttentionLayer(embed_dims, num_heads, ffn_ratio, dropout)
        self.lv_query_norm = nn.LayerNorm(embed_dims)
        self.lv_memory_norm = nn.LayerNorm(embed_dims)
        self.lv_attn = SDPAttention(embed_dims, num_heads, dropout=dropout)
        self.ms_norm = nn.LayerNorm(embed_dims)
        if ms_attn == 'sdpa':
            self.ms_attn = SDPAttention(embed_dims, num_heads, dropout=dropout)
        else:
            self.ms_attn = MSDeformAttention(embed_dims, num_heads, num_levels, num_points,
                                             dropout)
        self.ffn_norm = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims, embed_dims * ffn_ratio, ffn_drop=dropout, add_identity=False)

    def forward(self, x: Tensor, t: Tensor, x_pos: Tensor, text_mask: Tensor,
                reference_points: Tensor, shapes: List[Tuple[int, int]],
                num_out: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Runs V-L then L-V interaction.

        Args:
            x (Tensor): (B, ΣHW, D) multi-scale visual tokens X.
            t (Tensor): (B, Nt, D) text tokens T.
            x_pos (Tensor): (1, ΣHW, D) sine positions plus level embeddings of X.
            text_mask (Tensor): (B, Nt), 1 for real tokens.
            reference_points (Tensor): (1, ΣHW, 2) normalised (x, y) pixel centres of X
                (deformable attention only).
            shapes (list[tuple[int, int]]): (h, w) of X's levels.
            num_out (int, optional): Return only X's first ``num_out`` tokens: the
                multi-scale attention's queries and the FFN are limited to them (every
                token still serves as key and value), which leaves their values unchanged.
                Defaults to None (all).

        Returns:
            tuple[Tensor]: updated X (B, ΣHW or num_out, D) and T (B, Nt, D).
        """
        t = self.vl_layer(t, x, memory_pos=x_pos)
        query = self.lv_query_norm(x)
        memory = self.lv_memory_norm(t)
        x = x + self.lv_attn(query + x_pos, memory, memory, key_mask=text_mask)
        hidden = self.ms_norm(x)
        out, out_hidden, out_pos = x, hidden, x_pos
        if num_out is not None:
            out, out_hidden, out_pos = (y[:, :num_out] for y in (x, hidden, x_pos))
            reference_points = reference_points[:, :num_out]
        if isinstance(self.ms_attn, MSDeformAttention):
            out = out + self.ms_attn(out_hidden + out_pos, hidden, reference_points, shapes)
        else:
            out = out + self.ms_attn(out_hidden + out_pos, hidden + x_pos, hidden)
        out = out + self.ffn(self.ffn_norm(out))
        return out, t


@MODELS.register_module()
class TBTDHead(BaseReferringDecodeHead):
    """Target-Background TwinStream decoder: MCI plus the learnable Fg-Bg predictor.

    Implements BTDNet Sec. III-D (Eqs. 5-11). MCI (``context='mci'``) projects V'_2..V'_4
    to D, concatenates them into X (B, ΣHW, D) with sine and level embeddings, sets
    T = Linear(L'_4) (B, Nt, D) and runs ``num_mci`` layers of :class:`MCILayer`;
    ``'plain'`` (the Fig. 10 ablation) sums the projected levels at stride 8 instead. Then::

        P    = up(X_stride8) + Conv1x1(V'_1)                        (B, D, H/4, W/4)
        Q_bg = [n_bg prompts; AdaptivePool_s(Linear(F_m)), s in bg_pool_sizes]
        p_fg = Linear(T[:, 0]),  p_bg = Linear(mean(Q_bg))
        M_fg = <p_fg, P> / sqrt(D),  M_bg = <p_bg, P> / sqrt(D)
        L = BCE(M_fg, y) + λ BCE(M_bg, 1 - y)

    The output is (B, 2, H/4, W/4) logits ``[M_bg, M_fg]``, so mmseg's argmax marks a pixel
    as target where M_fg > M_bg. With λ = 0 the background stream is not built and the bg
    channel is 0. Choices the paper leaves open are listed in configs/btdnet/README.md.

    Args:
        in_channels (Sequence[int]): Channels of V'_1..V'_4 (at least two levels: the first
            feeds P, the rest MCI, finest first).
        channels (int): Fusion width D. Defaults to 256.
        num_classes (int): Must be 2 (background, target). Defaults to 2.
        in_index (Sequence[int]): Backbone outputs to use. Defaults to (0, 1, 2, 3).
        text_channels (int): Text width C_l of L'_4 and F_m. Defaults to 768.
        context (str): Multi-scale context module, ``'mci'`` (paper) or ``'plain'`` fusion
            (Fig. 10 ablation). Defaults to 'mci'.
        num_mci (int): MCI iterations N. Defaults to 3.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_ratio (int): FFN hidden width as a multiple of D. Defaults to 4.
        dropout (float): Attention/FFN dropout. Defaults to 0.
        ms_attn (str): MCI's multi-scale attention, ``'sdpa'`` (exact self-attention) or
            ``'deformable'``; see :class:`MCILayer`. Defaults to 'sdpa'.
        num_points (int): Deformable sampling points per level and head. Defaults to 4.
        num_bg_prompts (int): Learnable background prompts n_bg. Defaults to 5.
        bg_pool_sizes (Sequence[int]): Output sizes of the token pooling of F_m.
            Defaults to (1, 2, 4).
        use_bg_prior (bool): Put pooled F_m (the masked-text prior) into Q_bg; False leaves
            the prompts only (Table VI). Defaults to True.
        refine_bg (bool): Refine Q_bg by cross-attention to X (not in the paper).
            Defaults to False.
        smooth_pixel_feats (bool): Apply a 3x3 ConvModule to P (not in the paper).
            Defaults to False.
        bg_loss_weight (float): λ, weight of the background BCE. Defaults to 0.6.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None
            (PyTorch/ConvModule defaults).
        **kwargs: ``conv_cfg``, ``norm_cfg``, ``act_cfg``, ``ignore_index`` and
            ``align_corners`` of :class:`BaseDecodeHead`. The head computes its
            own losses, so ``loss_decode``, ``sampler``, ``out_channels``, ``threshold``,
            ``dropout_ratio`` and ``input_transform`` are refused.
    """

    extra_outputs = ('target_prototype', )
    _REFUSED_KWARGS = ('loss_decode', 'sampler', 'out_channels', 'threshold', 'dropout_ratio',
                       'input_transform')

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 num_classes: int = 2,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 text_channels: int = 768,
                 context: str = 'mci',
                 num_mci: int = 3,
                 num_heads: int = 8,
                 ffn_ratio: int = 4,
                 dropout: float = 0.0,
                 ms_attn: str = 'sdpa',
                 num_points: int = 4,
                 num_bg_prompts: int = 5,
                 bg_pool_sizes: Sequence[int] = (1, 2, 4),
                 use_bg_prior: bool = True,
                 refine_bg: bool = False,
                 smooth_pixel_feats: bool = False,
                 bg_loss_weight: float = 0.6,
                 init_cfg: OptMultiConfig = None,
                 **kwargs):
        refused = [key for key in self._REFUSED_KWARGS if key in kwargs]
        if refused:
            raise ValueError(f'TBTDHead computes its own Fg/Bg BCE losses on 2 output channels; '
                             f'remove {refused} from its config')
        if num_classes != 2:
            raise ValueError(f'TBTDHead predicts background/target: num_classes must be 2, '
                             f'got {num_classes}')
        if not isinstance(in_channels, (list, tuple)) or len(in_channels) < 2:
            raise ValueError('TBTDHead needs in_channels for at least two levels (V\'_1 for the '
                             f'pixel features, the rest for MCI), got {in_channels}')
        if context not in ('mci', 'plain'):
            raise ValueError(f"TBTDHead: context must be 'mci' (the paper's MCI) or 'plain' "
                             f'(multi-scale sum, Fig. 10 ablation), got {context!r}')
        if bg_loss_weight < 0:
            raise ValueError(f'TBTDHead: bg_loss_weight must be >= 0, got {bg_loss_weight}')
        pool_sizes = tuple(bg_pool_sizes) if use_bg_prior else ()
        if bg_loss_weight > 0 and num_bg_prompts + sum(pool_sizes) < 1:
            raise ValueError('TBTDHead: the background queries are empty; set num_bg_prompts '
                             '>= 1 or use_bg_prior=True with bg_pool_sizes')
        super().__init__(
            in_channels,
            channels,
            num_classes=num_classes,
            out_channels=num_classes,
            dropout_ratio=0.0,
            in_index=list(in_index),
            input_transform='multiple_select',
            loss_decode=[],
            init_cfg=init_cfg,
            **kwargs)
        # Logits come from prototype/pixel dot products, not a classifier conv.
        delattr(self, 'conv_seg')
        self.text_channels = text_channels
        self.context = context
        self.num_bg_prompts = num_bg_prompts
        self.bg_pool_sizes = pool_sizes
        self.use_bg_prior = use_bg_prior
        self.bg_loss_weight = bg_loss_weight
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)

        self.level_projs = nn.ModuleList(
            ConvModule(c, channels, 1, act_cfg=None, **conv_kwargs) for c in in_channels[1:])
        self.text_proj = nn.Linear(text_channels, channels)
        if context == 'mci':
            self.level_embed = nn.Parameter(torch.randn(len(in_channels) - 1, channels))
            self.mci_layers = nn.ModuleList(
                MCILayer(channels, len(in_channels) - 1, num_heads, ffn_ratio, dropout,
                         ms_attn, num_points) for _ in range(num_mci))
            self.x_norm = nn.LayerNorm(channels)
            self.t_norm = nn.LayerNorm(channels)

        self.lateral = ConvModule(in_channels[0], channels, 1, act_cfg=None, **conv_kwargs)
        self.smooth = ConvModule(channels, channels, 3, padding=1, act_cfg=self.act_cfg,
                                 **conv_kwargs) if smooth_pixel_feats else None

        self.fg_proj = nn.Linear(channels, channels)
        self.with_bg_stream = bg_loss_weight > 0
        if self.with_bg_stream:
            self.bg_prompts = nn.Parameter(torch.randn(num_bg_prompts, channels))
            self.bg_embed = nn.Linear(text_channels, channels) if pool_sizes else None
            self.bg_refine = CrossAttentionLayer(channels, num_heads, ffn_ratio, dropout) \
                if refine_bg else None
            self.bg_proj = nn.Linear(channels, channels)

    def multi_scale_context(self, feats: List[Tensor], text_feats: TextFeats
                            ) -> Tuple[Tensor, Tensor, List[Tuple[int, int]], Tensor]:
        """MCI (Eqs. 5-7): builds X and T and runs ``num_mci`` interaction layers.

        Args:
            feats (list[Tensor]): (B, C_i, h_i, w_i) V'_2..V'_4, finest first.
            text_feats (dict): ``feats`` L'_4 (B, Nt, C_l) and ``mask`` (B, Nt).

        Returns:
            tuple: X (B, ΣHW, D), its positions (1, ΣHW, D), the level sizes [(h_i, w_i)],
            and T (B, Nt, D). Without ``refine_bg`` nothing reads X beyond its first level
            (:meth:`pixel_features`), so the last layer returns only those (B, h_1 w_1, D).
        """
        tokens, positions, references, shapes = [], [], [], []
        for level, (proj, feat) in enumerate(zip(self.level_projs, feats)):
            height, width = feat.shape[2:]
            tokens.append(proj(feat).flatten(2).transpose(1, 2))
            pos = sine_positional_encoding(height, width, self.channels, device=feat.device,
                                           dtype=feat.dtype)
            positions.append(pos.flatten(1).t() + self.level_embed[level])
            ys = (torch.arange(height, device=feat.device, dtype=feat.dtype) + 0.5) / height
            xs = (torch.arange(width, device=feat.device, dtype=feat.dtype) + 0.5) / width
            grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
            references.append(torch.stack((grid_x, grid_y), dim=-1).flatten(0, 1))
            shapes.append((height, width))
        x = torch.cat(tokens, dim=1)
        x_pos = torch.cat(positions, dim=0)[None]
        reference_points = torch.cat(references, dim=0)[None]
        t = self.text_proj(text_item(text_feats, 'feats', 'TBTDHead', "L'_4"))
        text_mask = text_item(text_feats, 'mask', 'TBTDHead', 'text padding mask')
        read = None if getattr(self, 'bg_refine', None) is not None else \
            shapes[0][0] * shapes[0][1]
        last = len(self.mci_layers) - 1
        for i, layer in enumerate(self.mci_layers):
            x, t = layer(x, t, x_pos, text_mask, reference_points, shapes,
                         num_out=read if i == last else None)
        return self.x_norm(x), x_pos, shapes, self.t_norm(t)

    def plain_fusion(self, feats: List[Tensor], text_feats: TextFeats
                     ) -> Tuple[Tensor, Tensor, List[Tuple[int, int]], Tensor]:
        """Plain multi-scale fusion (Fig. 10 ablation): projected levels summed at stride 8.

        Args:
            feats (list[Tensor]): (B, C_i, h_i, w_i) V'_2..V'_4, finest first.
            text_feats (dict): ``feats`` L'_4 (B, Nt, C_l).

        Returns:
            tuple: As :meth:`multi_scale_context` with a single level: X (B, h_1 w_1, D), its
            sine positions (1, h_1 w_1, D), [(h_1, w_1)], and T = Linear(L'_4) (B, Nt, D).
        """
        height, width = feats[0].shape[2:]
        fused = self.level_projs[0](feats[0])
        for proj, feat in zip(self.level_projs[1:], feats[1:]):
            fused = fused + resize(proj(feat), size=(height, width), mode='bilinear',
                                   align_corners=self.align_corners)
        x = fused.flatten(2).transpose(1, 2)
        x_pos = sine_positional_encoding(height, width, self.channels, device=x.device,
                                         dtype=x.dtype).flatten(1).t()[None]
        t = self.text_proj(text_item(text_feats, 'feats', 'TBTDHead', "L'_4"))
        return x, x_pos, [(height, width)], t

    def pixel_features(self, fine: Tensor, x: Tensor, shapes: List[Tuple[int, int]]) -> Tensor:
        """P: X's stride-8 level upsampled onto V'_1 plus V'_1's projection.

        Args:
            fine (Tensor): (B, C_1, H/4, W/4) V'_1.
            x (Tensor): (B, ΣHW, D) MCI output, levels in ``shapes`` order.
            shapes (list[tuple]): (h_i, w_i) of X's levels.

        Returns:
            Tensor: (B, D, H/4, W/4) pixel features P.
        """
        height, width = shapes[0]
        first = x[:, :height * width].transpose(1, 2).reshape(x.shape[0], -1, height, width)
        first = resize(first, size=fine.shape[2:], mode='bilinear',
                       align_corners=self.align_corners)
        pixel = first + self.lateral(fine)
        return pixel if self.smooth is None else self.smooth(pixel)

    @staticmethod
    def token_bin_weights(mask: Tensor, size: int) -> Tensor:
        """Adaptive average pooling over each sample's real tokens, as a weight matrix.

        Sample b with n_b real tokens (ranked by position; the mask need not be a prefix)
        gets ``size`` bins; bin j averages the real tokens of rank floor(j n_b / size) to
        ceil((j + 1) n_b / size) - 1, the bins of ``F.adaptive_avg_pool1d`` on those n_b
        tokens alone. With n_b < size bins repeat tokens and are never empty (n_b >= 1).

        Args:
            mask (Tensor): (B, Nt), nonzero for real tokens.
            size (int): Number of bins.

        Returns:
            Tensor: (B, size, Nt) weights; each row sums to 1 (0 for a sample without real
            tokens), padded positions weigh 0.
        """
        real = mask != 0
        count = real.sum(1, keepdim=True)[:, None]  # (B, 1, 1)
        rank = (real.cumsum(1) - 1)[:, None, :]  # (B, 1, Nt)
        bins = torch.arange(size, device=mask.device)[None, :, None]  # (1, size, 1)
        start = torch.div(bins * count, size, rounding_mode='floor')
        end = torch.div((bins + 1) * count + size - 1, size, rounding_mode='floor')
        inside = ((rank >= start) & (rank < end) & real[:, None, :]).float()
        return inside / inside.sum(-1, keepdim=True).clamp(min=1)

    def background_queries(self, text_feats: TextFeats, x: Tensor,
                           x_pos: Tensor) -> Tensor:
        """Q_bg (Eq. 8): learnable prompts plus multi-size token pools of the masked text.

        The pools are adaptive average pools of Linear(F_m) over each sample's own real
        tokens (:meth:`token_bin_weights`): a 4-token expression pooled to 4 bins gives its
        4 tokens, not copies of a mean and rows of padding.

        Args:
            text_feats (dict): ``masked_feats`` F_m (B, Nt, C_l) and ``mask`` (B, Nt).
            x (Tensor): (B, ΣHW, D) MCI (or plain fusion) output, attended to when
                ``refine_bg``.
            x_pos (Tensor): (1, ΣHW, D) positions of X.

        Returns:
            Tensor: (B, n_bg + Σ bg_pool_sizes, D), or (B, n_bg, D) without the prior.
        """
        batch = x.shape[0]
        queries = [self.bg_prompts.expand(batch, -1, -1)]
        if self.bg_embed is not None:
            masked = text_item(text_feats, 'masked_feats', 'TBTDHead',
                                'F_m, the background prior; or set use_bg_prior=False')
            embedded = self.bg_embed(masked)
            mask = text_item(text_feats, 'mask', 'TBTDHead', 'text padding mask')
            # zero weights alone would let non-finite padding through (0 * inf = nan)
            embedded = torch.where((mask != 0)[..., None], embedded, 0.0)
            for size in self.bg_pool_sizes:
                weights = self.token_bin_weights(mask, size).to(embedded.dtype)
                queries.append(weights @ embedded)
        queries = torch.cat(queries, dim=1)
        if self.bg_refine is not None:
            queries = self.bg_refine(queries, x, memory_pos=x_pos)
        return queries

    def fg_bg_logits(self, pixel: Tensor, fg_prototype: Tensor,
                     bg_queries: Optional[Tensor] = None) -> Tensor:
        """Eq. 9: prototype/pixel similarities, stacked as ``[M_bg, M_fg]``.

        Args:
            pixel (Tensor): (B, D, h, w) pixel features P.
            fg_prototype (Tensor): (B, D) p_fg.
            bg_queries (Tensor, optional): (B, N_bg, D) Q_bg; None without the background
                stream (the bg channel is then 0). Defaults to None.

        Returns:
            Tensor: (B, 2, h, w) logits.
        """
        scale = 1.0 / math.sqrt(self.channels)
        if bg_queries is None:
            fg = torch.einsum('bd,bdhw->bhw', fg_prototype, pixel) * scale
            return torch.stack((torch.zeros_like(fg), fg), dim=1)
        # both streams in one pass over P
        prototypes = torch.stack((self.bg_proj(bg_queries.mean(1)), fg_prototype), dim=1)
        return torch.einsum('bkd,bdhw->bkhw', prototypes, pixel) * scale

    def forward_outputs(self, inputs: List[Tensor],
                        text_feats: TextFeats) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Decodes target/background logits.

        Args:
            inputs (list[Tensor]): V'_1..V'_4, (B, C_i, H/2^(i+1), W/2^(i+1)).
            text_feats (TextFeats): ``feats`` L'_4 (B, Nt, C_l), ``mask`` (B, Nt) and, with
                the background prior, ``masked_feats`` F_m (B, Nt, C_l).

        Returns:
            tuple: (B, 2, H/4, W/4) logits ``[M_bg, M_fg]`` and ``target_prototype``, p_fg
            = Linear(T[:, 0]) (B, D).
        """
        feats = self._transform_inputs(inputs)
        context = self.multi_scale_context if self.context == 'mci' else self.plain_fusion
        x, x_pos, shapes, t = context(feats[1:], text_feats)
        pixel = self.pixel_features(feats[0], x, shapes)
        bg_queries = self.background_queries(text_feats, x, x_pos) \
            if self.with_bg_stream else None
        prototype = self.fg_proj(t[:, 0])
        return self.fg_bg_logits(pixel, prototype, bg_queries), dict(target_prototype=prototype)

    def forward(self, inputs: List[Tensor], text_feats: TextFeats) -> Tensor:
        """(B, 2, H/4, W/4) logits ``[M_bg, M_fg]``, see :meth:`forward_outputs`."""
        return self.forward_outputs(inputs, text_feats)[0]

    def _bce(self, logits: Tensor, target: Tensor, valid: Tensor) -> Tensor:
        # float32 under autocast: bfloat16 logits would round the loss of confident pixels
        loss = F.binary_cross_entropy_with_logits(logits.float(), target.float(),
                                                  reduction='none')
        return (loss * valid).sum() / valid.sum().clamp(min=1)

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: SampleList) -> dict:
        """Eqs. 10-11: target BCE plus λ-weighted background BCE, ignoring ``ignore_index``.

        Args:
            seg_logits (Tensor): (B, 2, h, w) ``[M_bg, M_fg]`` logits.
            batch_data_samples (list[SegDataSample]): Samples with 0/1 ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``loss_fg``, ``loss_bg`` (only when λ > 0, already times λ)
            and ``acc_seg``.
        """
        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = resize(seg_logits, size=seg_label.shape[2:], mode='bilinear',
                            align_corners=self.align_corners)
        seg_label = seg_label.squeeze(1)
        if self.ignore_index is None:
            valid = torch.ones_like(seg_label, dtype=seg_logits.dtype)
        else:
            valid = (seg_label != self.ignore_index).to(seg_logits.dtype)
        target = (seg_label == 1).to(seg_logits.dtype)
        losses = dict(loss_fg=self._bce(seg_logits[:, 1], target, valid))
        if self.with_bg_stream:
            losses['loss_bg'] = self.bg_loss_weight * self._bce(seg_logits[:, 0], 1 - target,
                                                                valid)
        losses['acc_seg'] = accuracy(seg_logits, seg_label, ignore_index=self.ignore_index)
        return losses
