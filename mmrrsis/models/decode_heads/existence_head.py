"""Existence head: is the object an expression describes in the image at all?"""
import math
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig, SampleList
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils import masked_mean
from ..utils.text_feats import TextFeats


@MODELS.register_module()
class ExistenceHead(BaseModule):
    """Predicts p(target present) for a referring model; an auxiliary head any model can use.

    Not from the RRSIS papers: it lets a model answer "nothing" to an expression whose object
    the image lacks (gRefCOCO's generalized task). :class:`ExistenceEncoderDecoder` adds its
    ``loss_exist`` in training and empties the mask where p < ``threshold`` at inference.
    From a query q (B, D) (the pooled text, or the decode head's extra output
    ``query_output``) and the level V = ``inputs[in_index]`` (B, C, h, w)::

        K = LayerNorm(Linear(V) + Linear(xy))            (B, hw, D), xy in [-1, 1]
        s = K q / sqrt(D),  pooled = softmax(s)^T K      (B, hw), (B, D)
        logit = MLP([q; pooled; q ⊙ pooled; max(s); mask evidence; token matches])   (B,)
        loss_exist = loss_weight · BCE(logit, has_target), targets weighted present_weight

    ``mask_evidence`` adds the keys under the decode head's painted mask and three numbers
    from its logits; ``token_matching`` lets every word look for itself among the pixels.
    Both are spelt out in the README, "No-target expressions and the existence head".

    Args:
        in_channels (int): Channels C of the visual level.
        in_index (int): Which backbone output is the visual level. Defaults to -1 (the
            coarsest, most fused one).
        channels (int): Width D. Defaults to 256.
        text_channels (int): Text width C_l (read when ``query_output`` is None or with
            ``token_matching``). Defaults to 768.
        query_output (str, optional): Extra output (B, C_q) of the decode head that is the
            query source. Defaults to None (the pooled text).
        query_channels (int, optional): C_q; required with ``query_output``. Defaults to
            None.
        position_encoding (bool): Whether the keys get a learned linear code of their
            position. Defaults to True.
        mask_evidence (bool): Whether the head also reads the decode head's logits.
            Defaults to False.
        token_matching (bool): Whether every text token also looks for itself among the
            pixels. Defaults to False.
        detach_mask (bool): With ``mask_evidence``, stop the existence loss's gradient at
            the decode head's logits. Defaults to False.
        detach_inputs (bool): Stop it at every input (visual features, query and logits):
            the existence loss then trains this head alone, a probe on a model that the mask
            losses train as without it. Defaults to False.
        threshold (float): Inference empties the mask where p < threshold, in [0, 1].
            Defaults to 0.5.
        no_target_mask_loss (bool): Whether the segmentor's mask losses also score the
            no-target samples, against their all-background GT. Defaults to False: this
            head alone answers "absent", and the mask heads learn only where the target
            is, from the same samples as without the feature.
        present_weight (float): Weight of the BCE term of a sample with a target, against 1
            for a no-target sample (torch's ``pos_weight``); r / (1 - r) for a share r of
            no-target samples makes the two classes count alike. Defaults to 1.0.
        loss_weight (float): Weight of the BCE. Defaults to 1.0.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 in_channels: int,
                 in_index: int = -1,
                 channels: int = 256,
                 text_channels: int = 768,
                 query_output: Optional[str] = None,
                 query_channels: Optional[int] = None,
                 position_encoding: bool = True,
                 mask_evidence: bool = False,
                 token_matching: bool = False,
                 detach_mask: bool = False,
                 detach_inputs: bool = False,
                 threshold: float = 0.5,
                 no_target_mask_loss: bool = False,
                 present_weight: float = 1.0,
                 loss_weight: float = 1.0,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or not isinstance(in_index, int):
            raise TypeError('ExistenceHead reads one visual level: in_channels and in_index must '
                            f'be ints, got in_channels={in_channels}, in_index={in_index}')
        if (query_output is None) != (query_channels is None):
            raise ValueError('ExistenceHead: give query_output and query_channels together '
                             f'(got query_output={query_output!r}, '
                             f'query_channels={query_channels})')
        if not 0 <= threshold <= 1:
            raise ValueError(f'ExistenceHead: threshold must lie in [0, 1], got {threshold}')
        self.in_index = in_index
        self.channels = channels
        self.query_output = query_output
        self.threshold = threshold
        self.no_target_mask_loss = no_target_mask_loss
        if present_weight <= 0:
            raise ValueError(f'ExistenceHead: present_weight must be > 0, got {present_weight}')
        self.present_weight = present_weight
        self.loss_weight = loss_weight
        self.query_proj = nn.Linear(query_channels if query_output else text_channels,
                                    channels)
        self.query_norm = nn.LayerNorm(channels)
        self.key_proj = nn.Linear(in_channels, channels)
        self.pos_proj = nn.Linear(2, channels) if position_encoding else None
        self.key_norm = nn.LayerNorm(channels)
        self.mask_evidence = mask_evidence
        self.detach_mask = detach_mask or detach_inputs
        self.detach_inputs = detach_inputs
        self.token_matching = token_matching
        if token_matching:
            self.token_proj = nn.Linear(text_channels, channels)
            self.token_norm = nn.LayerNorm(channels)
            self.token_weight = nn.Linear(channels, 1)
        in_features = (3 * channels + 1 + (2 * channels + 3 if mask_evidence else 0) +
                       (channels + 2 if token_matching else 0))
        self.classifier = nn.Sequential(
            nn.Linear(in_features, channels), nn.ReLU(inplace=True), nn.Linear(channels, 1))

    def forward(self, inputs: List[Tensor], text_feats: TextFeats,
                query: Optional[Tensor] = None, seg_logits: Optional[Tensor] = None) -> Tensor:
        """Existence logits.

        Args:
            inputs (list[Tensor]): Visual levels (B, C_i, h_i, w_i).
            text_feats (dict): ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt).
            query (Tensor, optional): (B, C_q) ``query_output``; required with it.
                Defaults to None.
            seg_logits (Tensor, optional): (B, C, h', w') decode head logits, C in {1, 2};
                read with ``mask_evidence``. Defaults to None.

        Returns:
            Tensor: (B,) logits of p(target present).
        """
        if self.query_output is not None:
            if query is None:
                raise ValueError(f'ExistenceHead(query_output={self.query_output!r}) got no '
                                 'query')
            source = query
        else:
            source = masked_mean(text_feats['feats'], text_feats['mask'])
        visual = inputs[self.in_index]
        if self.detach_inputs:
            source, visual = source.detach(), visual.detach()
        q = self.query_norm(self.query_proj(source))
        keys = self.key_proj(visual.flatten(2).transpose(1, 2))
        if self.pos_proj is not None:
            keys = keys + self.pos_proj(self._cell_centres(*visual.shape[-2:], keys))
        keys = self.key_norm(keys)
        scores = torch.einsum('bnd,bd->bn', keys, q) / math.sqrt(self.channels)
        pooled = torch.einsum('bn,bnd->bd', scores.softmax(dim=1), keys)
        peak = scores.amax(dim=1, keepdim=True)
        features = [q, pooled, q * pooled, peak]
        if self.mask_evidence:
            features += self._mask_features(seg_logits, keys, q, visual.shape[-2:])
        if self.token_matching:
            features += self._token_features(text_feats, keys)
        return self.classifier(torch.cat(features, dim=1)).squeeze(1)

    def _token_features(self, text_feats: TextFeats, keys: Tensor) -> List[Tensor]:
        """[Σ α_j found_j, Σ α_j peak_j, soft minimum of peak_j] over the real tokens."""
        tokens, real = text_feats['feats'], text_feats['mask'].bool()
        if self.detach_inputs:
            tokens = tokens.detach()
        u = self.token_norm(self.token_proj(tokens))  # (B, Nt, D)
        scores = torch.einsum('bnd,btd->btn', keys, u) / math.sqrt(self.channels)
        found = torch.einsum('btn,bnd->btd', scores.softmax(dim=2), keys)
        peak = scores.amax(dim=2)  # (B, Nt)
        alpha = self.token_weight(u).squeeze(-1).masked_fill(~real, float('-inf')).softmax(1)
        alpha = alpha.nan_to_num(0.0)  # a sample without real tokens weighs none
        weakest = -torch.logsumexp(-peak + alpha.clamp(min=1e-12).log(), dim=1, keepdim=True)
        return [torch.einsum('bt,btd->bd', alpha, found), (alpha * peak).sum(1, keepdim=True),
                weakest]

    def _mask_features(self, seg_logits: Optional[Tensor], keys: Tensor, q: Tensor,
                       size) -> List[Tensor]:
        """[region, q ⊙ region, (B, 3) statistics of the margin] of the decode head's mask."""
        if seg_logits is None:
            raise ValueError('ExistenceHead(mask_evidence=True) got no decode head logits')
        if seg_logits.dim() != 4 or seg_logits.shape[1] not in (1, 2):
            raise ValueError('ExistenceHead(mask_evidence=True) reads binary logits (B, 1|2, '
                             f'h, w), got {tuple(seg_logits.shape)}')
        if self.detach_mask:
            seg_logits = seg_logits.detach()
        seg_logits = seg_logits.to(keys.dtype)
        margin = seg_logits[:, 1] - seg_logits[:, 0] if seg_logits.shape[1] == 2 \
            else seg_logits[:, 0]
        prob = margin.sigmoid()
        weights = F.adaptive_avg_pool2d(prob[:, None], tuple(size)).flatten(1)  # (B, hw)
        region = torch.einsum('bn,bnd->bd', weights, keys) / weights.sum(1, keepdim=True).clamp(
            min=1e-6)
        flat = margin.flatten(1)
        top = flat.topk(max(1, flat.shape[1] // 100), dim=1).values.mean(1)
        stats = torch.stack([flat.amax(1), top, prob.flatten(1).mean(1)], dim=1)
        return [region, q * region, stats]

    @staticmethod
    def _cell_centres(h: int, w: int, like: Tensor) -> Tensor:
        """(h*w, 2) (x, y) of the cell centres of an h x w map, in [-1, 1], row-major."""
        ys = (torch.arange(h, device=like.device, dtype=like.dtype) + 0.5) / h * 2 - 1
        xs = (torch.arange(w, device=like.device, dtype=like.dtype) + 0.5) / w * 2 - 1
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        return torch.stack([grid_x, grid_y], dim=-1).flatten(0, 1)

    def loss(self, logits: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """BCE against ``has_target``.

        Args:
            logits (Tensor): (B,) existence logits.
            batch_data_samples (list[SegDataSample]): Samples, metainfo ``has_target``
                optional (False for a no-target sample; True when missing).

        Returns:
            dict[str, Tensor]: ``loss_exist`` (times ``loss_weight``) and ``acc_exist``, the
            share of samples on the right side of ``threshold``, in percent.
        """
        target = logits.new_tensor(
            [float(s.metainfo.get('has_target', True)) for s in batch_data_samples])
        # float32 under autocast, as the mask losses
        loss = F.binary_cross_entropy_with_logits(
            logits.float(), target.float(), pos_weight=target.new_tensor(self.present_weight))
        present = logits.detach().sigmoid() >= self.threshold
        accuracy = (present == target.bool()).float().mean() * 100
        return dict(loss_exist=self.loss_weight * loss, acc_exist=accuracy)
