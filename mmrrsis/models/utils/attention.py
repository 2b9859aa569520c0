"""Memory-efficient attention modules: SDPA multi-head attention, the cross-attention block on
it, and multi-scale deformable attention."""
import math
import warnings
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN
from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
from torch import Tensor, nn

from mmrrsis.compat import mmcv_ext_is_stub


def multi_scale_deformable_attn_bag(value: Tensor, spatial_shapes: List[Tuple[int, int]],
                                    sampling_locations: Tensor,
                                    attention_weights: Tensor) -> Tensor:
    """Multi-scale deformable attention core in pure PyTorch, as one ``F.embedding_bag``.

    Same maths as mmcv's ``multi_scale_deformable_attn_pytorch`` (bilinear sampling with
    zero padding, ``align_corners=False``, weighted sum over levels and points), and the same
    gradients. Instead of one ``grid_sample`` per level followed by a product with the
    attention weights over a stacked (B·heads, C/heads, Nq, levels·points) tensor, every
    output row is the weighted sum of the 4 bilinear corners of its levels·points samples:
    one ``embedding_bag`` whose per-sample weights are bilinear weight × attention weight
    (:class:`WeightedBagSum`, with a backward that needs no sort). Nothing of size
    Nq·levels·points·C is materialised.

    Args:
        value (Tensor): (B, ΣHW, heads, C/heads) values, levels flattened in order.
        spatial_shapes (list[tuple[int, int]]): (h, w) of each level.
        sampling_locations (Tensor): (B, Nq, heads, levels, points, 2) normalised (x, y).
        attention_weights (Tensor): (B, Nq, heads, levels, points), summing to 1 per head.

    Returns:
        Tensor: (B, Nq, heads · C/heads) sampled and weighted values.
    """
    batch, num_value, num_heads, channels = value.shape
    num_query, num_levels, num_points = (sampling_locations.shape[i] for i in (1, 3, 4))
    device = value.device
    # row of value.reshape(-1, C/heads) = (b * ΣHW + pixel) * heads + head
    offsets = torch.arange(batch, device=device).view(batch, 1, 1, 1, 1) * \
        (num_value * num_heads) + torch.arange(num_heads, device=device).view(num_heads, 1, 1)
    indices, weights = [], []
    start = 0
    for level, (height, width) in enumerate(spatial_shapes):
        # pixel coordinates of align_corners=False sampling
        x = sampling_locations[:, :, :, level, :, 0] * width - 0.5
        y = sampling_locations[:, :, :, level, :, 1] * height - 0.5
        x0, y0 = x.floor(), y.floor()
        fx, fy = x - x0, y - y0
        level_weights = attention_weights[:, :, :, level]
        # bilinear weights of the left/right columns and top/bottom rows, 0 outside the map
        # (zero padding); the attention weight is folded into the rows'
        col_weights = ((1 - fx) * ((x0 >= 0) & (x0 <= width - 1)),
                       fx * ((x0 >= -1) & (x0 <= width - 2)))
        row_weights = ((1 - fy) * ((y0 >= 0) & (y0 <= height - 1)) * level_weights,
                       fy * ((y0 >= -1) & (y0 <= height - 2)) * level_weights)
        cols = (x0.clamp(0, width - 1).long(), (x0 + 1).clamp(0, width - 1).long())
        rows = (y0.clamp(0, height - 1).long() * width + start,
                (y0 + 1).clamp(0, height - 1).long() * width + start)
        for row, row_weight in zip(rows, row_weights):
            for col, col_weight in zip(cols, col_weights):
                indices.append((row + col) * num_heads)
                weights.append(row_weight * col_weight)
        start += height * width
    bag = num_levels * num_points * 4
    indices = (torch.stack(indices, -1) + offsets).view(-1, bag)
    weights = torch.stack(weights, -1).view(-1, bag).to(value.dtype)
    out = WeightedBagSum.apply(value.reshape(-1, channels), indices, weights)
    return out.view(batch, num_query, num_heads * channels)


class WeightedBagSum(torch.autograd.Function):
    """``F.embedding_bag(indices, table, per_sample_weights=weights, mode='sum')`` with a
    faster backward.

    Row n of the output is ``Σ_j weights[n, j] · table[indices[n, j]]``. PyTorch's own
    backward sorts all N·K indices to sum the table's gradient per row; here the table's
    gradient is K ``index_add_`` of the weighted output gradient (no sort) and the weights'
    gradient, ``<grad_out[n], table[indices[n, j]]>``, one sampled matrix product
    (``torch.sparse.sampled_addmm``). Both accumulate in float32. Same values up to the order
    of the sums; not twice differentiable.

    Shapes: ``table`` (R, C), ``indices`` (N, K) long, ``weights`` (N, K) -> (N, C).
    """

    @staticmethod
    def forward(ctx, table: Tensor, indices: Tensor, weights: Tensor) -> Tensor:
        ctx.save_for_backward(table, indices, weights)
        return F.embedding_bag(indices, table, per_sample_weights=weights, mode='sum')

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        table, indices, weights = ctx.saved_tensors
        grad_table = grad_weights = None
        dtype = torch.promote_types(table.dtype, torch.float32)
        grad = grad_out.to(dtype)
        if ctx.needs_input_grad[0]:
            grad_table = torch.zeros(table.shape, dtype=dtype, device=table.device)
            for j in range(indices.shape[1]):
                grad_table.index_add_(0, indices[:, j], grad * weights[:, j, None].to(dtype))
            grad_table = grad_table.to(table.dtype)
        if ctx.needs_input_grad[2]:
            num, bag = indices.shape
            with warnings.catch_warnings():  # "sparse CSR support is in beta state"
                warnings.simplefilter('ignore', UserWarning)
                pattern = torch.sparse_csr_tensor(
                    torch.arange(0, num * bag + 1, bag, device=indices.device),
                    indices.reshape(-1), torch.zeros(num * bag, dtype=dtype, device=indices.device),
                    size=(num, table.shape[0]), check_invariants=False)
            grad_weights = torch.sparse.sampled_addmm(pattern, grad, table.to(dtype).t())
            grad_weights = grad_weights.values().view(num, bag).to(weights.dtype)
        return grad_table, None, grad_weights


class SDPAttention(nn.Module):
    """Multi-head attention whose core is ``torch.nn.functional.scaled_dot_product_attention``.

    Same maths as ``nn.MultiheadAttention`` (q/k/v/out projections, softmax(QK^T/sqrt(d))V per
    head), but the Nq x Nk weight matrix is never built in Python: SDPA dispatches to a fused
    (flash / memory-efficient) kernel where one exists, which is what makes attention over
    thousands of pixel tokens affordable (BTDNet's MCI).

    When one side is short (a few text tokens against thousands of pixels, as in BTDNet's
    MCI and D-MOLS), the projections of the long side are folded into the short side, which
    is cheaper and gives the same values up to float rounding: with few keys,
    ``(x W_q^T + b_q) k_h^T = x (W_q,h^T k_h^T) + b_q,h k_h^T`` and
    ``out_proj(P_h v_h) = P_h (v_h W_o,h^T)``; with few queries, ``q_h (key W_k,h^T + b_k,h)^T
    = (q_h W_k,h) key^T + q_h b_k,h`` (the same for every key), and ``P_h (value W_v,h^T +
    b_v,h) = (P_h value) W_v,h^T + b_v,h``. The (B, heads, Nq, Nk) weights are then built
    explicitly (small: one side is short) and the long side is never projected. Which of the
    three runs is chosen by multiply-add count; with attention dropout in training the plain
    SDPA path always runs.

    Unlike ``nn.MultiheadAttention.key_padding_mask``, ``key_mask`` follows the text-mask
    convention of mmrrsis: 1/True marks a key to attend to, 0/False a padded key.

    Args:
        embed_dims (int): Width of queries and of the output, D.
        num_heads (int): Number of heads; must divide ``embed_dims``. Defaults to 8.
        key_dims (int, optional): Width of the keys. Defaults to None (``embed_dims``).
        value_dims (int, optional): Width of the values. Defaults to None (``key_dims``).
        dropout (float): Dropout on the attention weights in training. Defaults to 0.
        bias (bool): Bias in the projections. Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int = 8,
                 key_dims: Optional[int] = None,
                 value_dims: Optional[int] = None,
                 dropout: float = 0.0,
                 bias: bool = True):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'SDPAttention: embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        key_dims = key_dims or embed_dims
        value_dims = value_dims or key_dims
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dims, embed_dims, bias=bias)
        self.k_proj = nn.Linear(key_dims, embed_dims, bias=bias)
        self.v_proj = nn.Linear(value_dims, embed_dims, bias=bias)
        self.out_proj = nn.Linear(embed_dims, embed_dims, bias=bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, -1).transpose(1, 2)

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Optional[Tensor] = None,
                key_mask: Optional[Tensor] = None) -> Tensor:
        """Attends from every query to the (unpadded) keys.

        Args:
            query (Tensor): (B, Nq, D) queries.
            key (Tensor): (B, Nk, C_k) keys.
            value (Tensor, optional): (B, Nk, C_v) values. Defaults to None (``key``).
            key_mask (Tensor, optional): (B, Nk), 1/True for keys to attend to. A sample
                whose keys are all masked attends to all of them instead of producing NaN.
                Defaults to None (attend to every key).

        Returns:
            Tensor: (B, Nq, D) attended values after the output projection.
        """
        value = key if value is None else value
        if key_mask is not None:
            key_mask = key_mask.bool()
            # Checked on the device (no host sync): an all-padding row would softmax to NaN.
            key_mask = key_mask | ~key_mask.any(dim=1, keepdim=True)
        path = 'sdpa' if self.dropout and self.training else \
            self._cheapest(query.shape[1], key.shape[1], key.shape[2], value.shape[2])
        if path == 'few_keys':
            return self._few_keys(query, key, value, key_mask)
        if path == 'few_queries':
            return self._few_queries(query, key, value, key_mask)
        q = self._split_heads(self.q_proj(query))
        k = self._split_heads(self.k_proj(key))
        v = self._split_heads(self.v_proj(value))
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # True = attend
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0)
        out = out.transpose(1, 2).flatten(2)
        return self.out_proj(out)

    def _cheapest(self, num_query: int, num_key: int, key_dims: int, value_dims: int) -> str:
        """'sdpa', 'few_keys' or 'few_queries': the fewest multiply-adds per sample (the folded
        paths must save a fifth, their explicit softmax being slower than SDPA's kernels)."""
        dims, heads = self.embed_dims, self.num_heads
        sides = num_key * (key_dims + value_dims) * dims + 2 * num_query * dims * dims
        sdpa = sides + 2 * num_query * num_key * dims
        few_keys = num_key * (key_dims + value_dims + 2 * dims) * dims + \
            2 * num_query * heads * num_key * dims
        few_queries = num_query * dims * (2 * dims + key_dims + value_dims) + \
            num_query * heads * num_key * (key_dims + value_dims)
        best = min(few_keys, few_queries)
        if best > 0.8 * sdpa:
            return 'sdpa'
        return 'few_keys' if few_keys == best else 'few_queries'

    def _softmax(self, scores: Tensor, key_mask: Optional[Tensor], dtype) -> Tensor:
        """Softmax over the last dim (keys) of (B, ..., Nk) scores, in float32 at least."""
        scores = scores.to(torch.promote_types(scores.dtype, torch.float32))
        if key_mask is not None:
            mask = key_mask.view(key_mask.shape[0], *([1] * (scores.dim() - 2)), -1)
            scores = scores.masked_fill(~mask, float('-inf'))
        return scores.softmax(-1).to(dtype)

    def _few_keys(self, query: Tensor, key: Tensor, value: Tensor,
                  key_mask: Optional[Tensor]) -> Tensor:
        """Queries never projected: q_proj folded into the keys, out_proj into the values."""
        batch, num_query, _ = query.shape
        num_key, heads = key.shape[1], self.num_heads
        head_dims = self.embed_dims // heads
        k = self.k_proj(key).view(batch, num_key, heads, head_dims)
        v = self.v_proj(value).view(batch, num_key, heads, head_dims)
        scale = head_dims**-0.5
        w_q = self.q_proj.weight.view(heads, head_dims, -1)
        keys = torch.einsum('hdc,bkhd->bchk', w_q, k).reshape(batch, -1, heads * num_key)
        scores = query @ (keys * scale)
        if self.q_proj.bias is not None:
            bias = torch.einsum('hd,bkhd->bhk', self.q_proj.bias.view(heads, head_dims), k)
            scores = scores + (bias * scale).reshape(batch, 1, heads * num_key)
        weights = self._softmax(scores.view(batch, num_query, heads, num_key), key_mask,
                                query.dtype)
        w_o = self.out_proj.weight.view(-1, heads, head_dims)
        values = torch.einsum('bkhd,ehd->bhke', v, w_o).reshape(batch, heads * num_key, -1)
        out = weights.reshape(batch, num_query, heads * num_key) @ values
        return out if self.out_proj.bias is None else out + self.out_proj.bias

    def _few_queries(self, query: Tensor, key: Tensor, value: Tensor,
                     key_mask: Optional[Tensor]) -> Tensor:
        """Keys and values never projected: k_proj folded into the queries, v_proj applied
        after the weighted sum (the weights of a row sum to 1, so its bias passes through)."""
        batch, num_query, _ = query.shape
        heads = self.num_heads
        head_dims = self.embed_dims // heads
        q = self.q_proj(query).view(batch, num_query, heads, head_dims) * head_dims**-0.5
        w_k = self.k_proj.weight.view(heads, head_dims, -1)
        queries = torch.einsum('bnhd,hdc->bhnc', q, w_k).reshape(batch, heads * num_query, -1)
        scores = (queries @ key.transpose(1, 2)).view(batch, heads, num_query, -1)
        if self.k_proj.bias is not None:
            # the same for every key, so the weights ignore it; added so that the bias keeps
            # its (zero) gradient, as on the SDPA path (DDP expects every parameter used)
            bias = torch.einsum('bnhd,hd->bhn', q, self.k_proj.bias.view(heads, head_dims))
            scores = scores + bias[..., None]
        weights = self._softmax(scores, key_mask, query.dtype)
        mixed = (weights.reshape(batch, heads * num_query, -1) @ value).view(
            batch, heads, num_query, -1)
        w_v = self.v_proj.weight.view(heads, head_dims, -1)
        out = torch.einsum('bhnc,hdc->bnhd', mixed, w_v)
        if self.v_proj.bias is not None:
            out = out + self.v_proj.bias.view(heads, head_dims)
        return self.out_proj(out.reshape(batch, num_query, self.embed_dims))


class CrossAttentionLayer(nn.Module):
    """Pre-norm transformer decoder step: ``x + CrossAttn(x, memory)``, then ``x + FFN(x)``.

    Queries and memory are layer-normalised before the attention, positions are added to
    queries and keys (not values), as in DETR-style decoders. Shared by BTDNet's T-BTD (MCI's
    V-L step, background-query refinement) and D-MOLS (joint reconstruction).

    Args:
        embed_dims (int): Width of queries and memory, D.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_ratio (int): FFN hidden width as a multiple of D. Defaults to 4.
        dropout (float): Dropout on attention weights and in the FFN. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int = 8, ffn_ratio: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.query_norm = nn.LayerNorm(embed_dims)
        self.memory_norm = nn.LayerNorm(embed_dims)
        self.attn = SDPAttention(embed_dims, num_heads, dropout=dropout)
        self.ffn_norm = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims, embed_dims * ffn_ratio, ffn_drop=dropout, add_identity=False)

    def forward(self,
                query: Tensor,
                memory: Tensor,
                query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_mask: Optional[Tensor] = None) -> Tensor:
        """Updates the queries from the memory.

        Args:
            query (Tensor): (B, Nq, D) queries.
            memory (Tensor): (B, Nk, D) keys/values.
            query_pos (Tensor, optional): (B or 1, Nq, D) query positions. Defaults to None.
            memory_pos (Tensor, optional): (B or 1, Nk, D) key positions. Defaults to None.
            memory_mask (Tensor, optional): (B, Nk), 1 for memory entries to attend to.
                Defaults to None.

        Returns:
            Tensor: (B, Nq, D) updated queries.
        """
        q = self.query_norm(query)
        mem = self.memory_norm(memory)
        query = query + self.attn(
            q if query_pos is None else q + query_pos,
            mem if memory_pos is None else mem + memory_pos,
            mem,
            key_mask=memory_mask)
        return query + self.ffn(self.ffn_norm(query))


class MSDeformAttention(nn.Module):
    """Multi-scale deformable attention (Deformable DETR) over flattened feature levels.

    Each query samples ``num_points`` bilinear points per level and head around its reference
    point, at learned offsets, and mixes them with learned softmax weights: O(N·levels·points)
    instead of self-attention's O(N^2). On CUDA with a compiled mmcv the mmcv kernel runs;
    otherwise (CPU, or mmcv-lite) :func:`multi_scale_deformable_attn_bag`, the pure-PyTorch
    equivalent of mmcv's ``grid_sample`` version, does.
    Initialisation follows Deformable DETR (offsets fan out per head, uniform weights).

    Args:
        embed_dims (int): Width D.
        num_heads (int): Heads; must divide D. Defaults to 8.
        num_levels (int): Feature levels in the value. Defaults to 3.
        num_points (int): Sampling points per level and head. Defaults to 4.
        dropout (float): Dropout on the output. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int = 8, num_levels: int = 3,
                 num_points: int = 4, dropout: float = 0.0):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'MSDeformAttention: embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points
        self.sampling_offsets = nn.Linear(embed_dims, num_heads * num_levels * num_points * 2)
        self.attention_weights = nn.Linear(embed_dims, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.init_weights()

    def init_weights(self) -> None:
        """Deformable DETR's initialisation; called at construction."""
        nn.init.zeros_(self.sampling_offsets.weight)
        thetas = torch.arange(self.num_heads, dtype=torch.float32) * (2.0 * math.pi /
                                                                      self.num_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = (grid / grid.abs().max(-1, keepdim=True)[0]).view(self.num_heads, 1, 1, 2)
        grid = grid.repeat(1, self.num_levels, self.num_points, 1)
        grid = grid * torch.arange(1, self.num_points + 1, dtype=torch.float32)[:, None]
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for proj in (self.value_proj, self.out_proj):
            nn.init.xavier_uniform_(proj.weight)
            nn.init.zeros_(proj.bias)

    def forward(self, query: Tensor, value: Tensor, reference_points: Tensor,
                spatial_shapes: List[Tuple[int, int]]) -> Tensor:
        """Samples the levels of ``value`` around each query's reference point.

        Args:
            query (Tensor): (B, Nq, D) queries (positions already added).
            value (Tensor): (B, ΣHW, D) flattened levels, in ``spatial_shapes`` order.
            reference_points (Tensor): (B or 1, Nq, 2) normalised (x, y) in [0, 1].
            spatial_shapes (list[tuple[int, int]]): (h, w) of each level.

        Returns:
            Tensor: (B, Nq, D) attended values after the output projection.
        """
        if len(spatial_shapes) != self.num_levels:
            raise ValueError(f'MSDeformAttention was built for {self.num_levels} levels, got '
                             f'{len(spatial_shapes)}')
        batch, num_query, _ = query.shape
        value = self.value_proj(value).view(batch, value.shape[1], self.num_heads, -1)
        offsets = self.sampling_offsets(query).view(batch, num_query, self.num_heads,
                                                    self.num_levels, self.num_points, 2)
        weights = self.attention_weights(query).view(
            batch, num_query, self.num_heads, self.num_levels * self.num_points).softmax(
                -1, dtype=torch.float32)  # float32 under autocast too; cast at the sampling
        weights = weights.view(batch, num_query, self.num_heads, self.num_levels,
                               self.num_points)
        # Offsets are in pixels of each level; locations are normalised (x, y).
        normalizer = torch.tensor([[w, h] for h, w in spatial_shapes], dtype=query.dtype,
                                  device=query.device)
        locations = reference_points[:, :, None, None, None, :] + \
            offsets / normalizer[None, None, None, :, None, :]
        if value.is_cuda and not mmcv_ext_is_stub():
            shapes = torch.tensor(spatial_shapes, dtype=torch.long, device=value.device)
            starts = torch.cat((shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]))
            # the compiled kernel reads all three as value's dtype (float16 under autocast)
            out = MultiScaleDeformableAttnFunction.apply(
                value, shapes, starts, locations.to(value.dtype), weights.to(value.dtype), 64)
        else:
            out = multi_scale_deformable_attn_bag(value, spatial_shapes, locations, weights)
        return self.dropout(self.out_proj(out))
