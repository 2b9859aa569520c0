"""RSRefSeg 2's cascaded second-order prompter (Sec. III-C of the paper)."""
import math
from typing import List

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmrrsis.models.utils import TextFeats, text_item
from mmrrsis.registry import MODELS


class PrompterAttention(nn.Module):
    """Multi-head attention with its own inner width: q, k, v projected to ``internal_dims``,
    SDPA per head, projected back to the query width. No mask, no dropout."""

    def __init__(self, query_dims: int, num_heads: int, internal_dims: int,
                 key_dims: int = None):
        super().__init__()
        key_dims = key_dims or query_dims
        if internal_dims % num_heads:
            raise ValueError(f'PrompterAttention: internal_dims={internal_dims} is not '
                             f'divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.q_proj = nn.Linear(query_dims, internal_dims)
        self.k_proj = nn.Linear(key_dims, internal_dims)
        self.v_proj = nn.Linear(key_dims, internal_dims)
        self.out_proj = nn.Linear(internal_dims, query_dims)

    def _heads(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor, value: Tensor) -> Tensor:
        """(B, Nq, C_q) queries, (B, Nk, C_k) keys and values -> (B, Nq, C_q)."""
        out = F.scaled_dot_product_attention(self._heads(self.q_proj(query)),
                                             self._heads(self.k_proj(key)),
                                             self._heads(self.v_proj(value)))
        return self.out_proj(out.transpose(1, 2).flatten(2))


class PrompterMLP(nn.Module):
    """Linear -> GELU -> Linear, back to the input width."""

    def __init__(self, dims: int, hidden_dims: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dims, hidden_dims), nn.Linear(hidden_dims, dims)])

    def forward(self, x: Tensor) -> Tensor:
        return self.layers[1](F.gelu(self.layers[0](x)))


def _attend(attn: nn.Module, norm: nn.Module, x: Tensor, query: Tensor, key: Tensor,
            value: Tensor) -> Tensor:
    """Post-norm residual attention step: LN(x + Attn(query, key, value))."""
    return norm(x + attn(query, key, value))


def _feed(mlp: nn.Module, norm: nn.Module, x: Tensor) -> Tensor:
    """Post-norm residual MLP step: LN(x + MLP(x))."""
    return norm(x + mlp(x))


class TwoQueryTextLayer(nn.Module):
    """Stage A: two query sets read the text and each other.

    Q_k <- LN(Q_k + SelfAttn); Q_k <- LN(Q_k + Attn(Q_k, T)), LN(Q_k + MLP) for k = 1, 2; then
    Q_1 attends to Q_2, and Q_2 to the updated Q_1, each followed by an MLP step.
    """

    def __init__(self, dims: int, num_heads: int, internal_dims: int, mlp_dims: int):
        super().__init__()
        for k in (1, 2):
            for name in ('self_attn', 'text_attn', 'cross_attn'):
                setattr(self, f'{name}{k}', PrompterAttention(dims, num_heads, internal_dims))
            for j in range(1, 6):
                setattr(self, f'norm{k}_{j}', nn.LayerNorm(dims))
            for j in (2, 3):
                setattr(self, f'mlp{k}_{j}', PrompterMLP(dims, mlp_dims))

    def forward(self, q1: Tensor, q2: Tensor, text: Tensor, pe1: Tensor, pe2: Tensor):
        """(B, Q, C) queries with their (1, Q, C) position embeddings, (B, L, C) text."""
        q1 = _attend(self.self_attn1, self.norm1_1, q1, q1 + pe1, q1 + pe1, q1)
        q2 = _attend(self.self_attn2, self.norm2_1, q2, q2 + pe2, q2 + pe2, q2)
        q1 = _attend(self.text_attn1, self.norm1_2, q1, q1 + pe1, text, text)
        q1 = _feed(self.mlp1_2, self.norm1_3, q1)
        q2 = _attend(self.text_attn2, self.norm2_2, q2, q2 + pe2, text, text)
        q2 = _feed(self.mlp2_2, self.norm2_3, q2)
        q1 = _attend(self.cross_attn1, self.norm1_4, q1, q1 + pe1, q2 + pe2, q2)
        q1 = _feed(self.mlp1_3, self.norm1_5, q1)
        q2 = _attend(self.cross_attn2, self.norm2_4, q2, q2 + pe2, q1 + pe1, q1)
        q2 = _feed(self.mlp2_3, self.norm2_5, q2)
        return q1, q2


class QueryImageLayer(nn.Module):
    """Stage B (and the first half of stage C): the queries attend to themselves, then the
    image tokens attend to the queries and pass an MLP."""

    def __init__(self, text_dims: int, img_dims: int, num_heads: int, internal_dims: int,
                 mlp_dims: int):
        super().__init__()
        self.query_attn = PrompterAttention(text_dims, num_heads, internal_dims)
        self.query_norm = nn.LayerNorm(text_dims)
        self.image_attn = PrompterAttention(img_dims, num_heads, internal_dims, text_dims)
        self.image_norm1 = nn.LayerNorm(img_dims)
        self.image_mlp = PrompterMLP(img_dims, mlp_dims)
        self.image_norm2 = nn.LayerNorm(img_dims)

    def forward(self, query: Tensor, image: Tensor, query_pe: Tensor, image_pe: Tensor):
        """(B, Q, C_t) queries, (B, N, C_i) image tokens, their position embeddings."""
        query = _attend(self.query_attn, self.query_norm, query, query + query_pe,
                        query + query_pe, query)
        image = _attend(self.image_attn, self.image_norm1, image, image + image_pe,
                        query + query_pe, query)
        return query, _feed(self.image_mlp, self.image_norm2, image)


class PromptLayer(QueryImageLayer):
    """Stage C: :class:`QueryImageLayer` with Q_2, then the prompts attend to themselves, to
    Q_2 and to the image tokens, each attention followed by an MLP step but the first."""

    def __init__(self, text_dims: int, img_dims: int, prompt_dims: int, num_heads: int,
                 internal_dims: int, mlp_dims: int):
        super().__init__(text_dims, img_dims, num_heads, internal_dims, mlp_dims)
        self.prompt_attn = PrompterAttention(prompt_dims, num_heads, internal_dims)
        self.prompt_text_attn = PrompterAttention(prompt_dims, num_heads, internal_dims,
                                                  text_dims)
        self.prompt_image_attn = PrompterAttention(prompt_dims, num_heads, internal_dims,
                                                   img_dims)
        self.prompt_text_mlp = PrompterMLP(prompt_dims, mlp_dims)
        self.prompt_image_mlp = PrompterMLP(prompt_dims, mlp_dims)
        for j in range(1, 6):
            setattr(self, f'prompt_norm{j}', nn.LayerNorm(prompt_dims))

    def forward(self, query: Tensor, image: Tensor, prompt: Tensor, query_pe: Tensor,
                image_pe: Tensor, prompt_pe: Tensor):
        query, image = super().forward(query, image, query_pe, image_pe)
        p = prompt + prompt_pe
        prompt = _attend(self.prompt_attn, self.prompt_norm1, prompt, p, p, prompt)
        prompt = _attend(self.prompt_text_attn, self.prompt_norm2, prompt, prompt + prompt_pe,
                         query + query_pe, query)
        prompt = _feed(self.prompt_text_mlp, self.prompt_norm3, prompt)
        prompt = _attend(self.prompt_image_attn, self.prompt_norm4, prompt, prompt + prompt_pe,
                         image + image_pe, image)
        prompt = _feed(self.prompt_image_mlp, self.prompt_norm5, prompt)
        return query, image, prompt


@MODELS.register_module()
class CascadedPrompter(BaseModule):
    """RSRefSeg 2's cascaded second-order prompter: SigLIP features -> SAM 2 prompts.

    From the text tokens T (B, L, C_t), the SigLIP image tokens V (B, N, C_i) on a square
    grid, the pooled text t (B, C_t) and SigLIP's logit scale and bias (all in
    ``text_feats``): Q_1 = Q_2 = T pooled to ``num_queries`` tokens; stage A
    (``text_layers``) decomposes the text into the two query sets; stage B (``image_layers``)
    lets the image attend to Q_1; stage C (``prompt_layers``) to Q_2, and the learned prompts
    read Q_2 and the image. Sparse prompts: the prompts through an MLP, (B, num_prompts,
    C_p). Dense prompt: the refined image through a conv block, bilinearly resized to 4× the
    SAM embedding, its per-pixel cosine with t in SigLIP's logit units, (B, 1, 4h, 4w).

    A neck that reads text: ``forward(x, text_feats)`` returns
    ``[s0, s1, emb, sparse, dense, q1, q2]``, the SAM 2 maps ``x`` followed by the prompts and
    stage A's (B, num_queries, C_t) query sets (for the auxiliary losses).

    Args:
        text_dims (int): SigLIP text width C_t. Defaults to 1152.
        img_dims (int): SigLIP image width C_i. Defaults to 1152.
        prompt_dims (int): SAM 2 prompt width C_p. Defaults to 256.
        num_heads (int): Heads of every attention. Defaults to 8.
        internal_dims (int): Inner width of every attention. Defaults to 512.
        mlp_dims (int): Hidden width of every MLP. Defaults to 512.
        num_queries (int): Tokens per query set. Defaults to 3.
        num_prompts (int): Sparse prompts. Defaults to 9.
        text_layers (int): Stage A depth. Defaults to 2.
        image_layers (int): Stage B depth. Defaults to 2.
        prompt_layers (int): Stage C depth. Defaults to 2.
        pe_size (int): Side of the learned image position table (the SigLIP grid); resized
            bicubically for another grid. Defaults to 32.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 text_dims: int = 1152,
                 img_dims: int = 1152,
                 prompt_dims: int = 256,
                 num_heads: int = 8,
                 internal_dims: int = 512,
                 mlp_dims: int = 512,
                 num_queries: int = 3,
                 num_prompts: int = 9,
                 text_layers: int = 2,
                 image_layers: int = 2,
                 prompt_layers: int = 2,
                 pe_size: int = 32,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_queries = num_queries
        self.query_pe1 = nn.Parameter(torch.randn(num_queries, text_dims))
        self.query_pe2 = nn.Parameter(torch.randn(num_queries, text_dims))
        self.image_pe = nn.Parameter(torch.randn(1, img_dims, pe_size, pe_size))
        self.prompt_embed = nn.Parameter(torch.randn(num_prompts, prompt_dims))
        self.prompt_pe = nn.Parameter(torch.randn(num_prompts, prompt_dims))
        self.text_layers = nn.ModuleList(
            TwoQueryTextLayer(text_dims, num_heads, internal_dims, mlp_dims)
            for _ in range(text_layers))
        self.image_layers = nn.ModuleList(
            QueryImageLayer(text_dims, img_dims, num_heads, internal_dims, mlp_dims)
            for _ in range(image_layers))
        self.prompt_layers = nn.ModuleList(
            PromptLayer(text_dims, img_dims, prompt_dims, num_heads, internal_dims, mlp_dims)
            for _ in range(prompt_layers))
        self.sparse_mlp = PrompterMLP(prompt_dims, mlp_dims)
        self.dense_conv = nn.Sequential(
            nn.Conv2d(img_dims, img_dims // 2, 3, padding=1), nn.BatchNorm2d(img_dims // 2),
            nn.GELU(), nn.Conv2d(img_dims // 2, img_dims, 3, padding=1))

    def init_weights(self):
        """PyTorch's default initialisation (the published model's); then ``init_cfg``."""
        if self.init_cfg is not None:
            super().init_weights()

    def _image_pe(self, grid: int) -> Tensor:
        pe = self.image_pe
        if pe.shape[-1] != grid:
            pe = F.interpolate(pe, size=(grid, grid), mode='bicubic', align_corners=True)
        return pe.flatten(2).transpose(1, 2)

    def forward(self, x: List[Tensor], text_feats: TextFeats) -> List[Tensor]:
        """Makes the prompts.

        Args:
            x (list[Tensor]): SAM 2 maps [s0, s1, emb], emb (B, C, h, w).
            text_feats (TextFeats): ``feats`` (B, L, C_t), ``pooled`` (B, C_t),
                ``vision_feats`` (B, N, C_i), ``logit_scale`` and ``logit_bias`` (1, ).

        Returns:
            list[Tensor]: [s0, s1, emb, sparse (B, P, C_p), dense (B, 1, 4h, 4w),
            q1 (B, Q, C_t), q2 (B, Q, C_t)].
        """
        owner = type(self).__name__
        text = text_item(text_feats, 'feats', owner, 'the text tokens')
        pooled = text_item(text_feats, 'pooled', owner, 'the pooled text')
        image = text_item(text_feats, 'vision_feats', owner, 'the SigLIP image tokens')
        scale = text_item(text_feats, 'logit_scale', owner, "SigLIP's logit scale")
        bias = text_item(text_feats, 'logit_bias', owner, "SigLIP's logit bias")
        batch, tokens, _ = image.shape
        grid = math.isqrt(int(tokens))
        if grid * grid != tokens:
            raise ValueError(f'{owner}: {tokens} image tokens do not form a square grid')
        pe1, pe2 = self.query_pe1[None], self.query_pe2[None]
        q1 = q2 = F.adaptive_avg_pool1d(text.transpose(1, 2), self.num_queries).transpose(1, 2)
        for layer in self.text_layers:
            q1, q2 = layer(q1, q2, text, pe1, pe2)
        image_pe = self._image_pe(grid)
        query1 = q1
        for layer in self.image_layers:
            query1, image = layer(query1, image, pe1, image_pe)
        prompt = self.prompt_embed[None].expand(batch, -1, -1)
        query2 = q2
        for layer in self.prompt_layers:
            query2, image, prompt = layer(query2, image, prompt, pe2, image_pe,
                                          self.prompt_pe[None])
        sparse = self.sparse_mlp(prompt)
        emb = x[-1]
        mask_size = (4 * emb.shape[-2], 4 * emb.shape[-1])
        dense = self.dense_conv(image.transpose(1, 2).unflatten(2, (grid, grid)))
        dense = F.interpolate(dense, size=mask_size, mode='bilinear', align_corners=True)
        # cosine of each pixel with the pooled text (no epsilon, as SigLIP's own logits)
        dense = dense / dense.norm(dim=1, keepdim=True)
        text_dir = pooled / pooled.norm(dim=1, keepdim=True)
        dense = torch.einsum('bchw,bc->bhw', dense, text_dir)[:, None]
        dense = dense * scale.exp() + bias
        return [*x, sparse, dense, q1, q2]
