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


@MODELS.register_module()
class ExistenceHead(BaseModule):
    """Predicts p(target present) for a referring model; an auxiliary head any model can use.

    Not from a paper of the RRSIS lineage, whose datasets always contain the target: it lets
    a model answer "nothing" to an expression whose object the image lacks, as generalized
    referring segmentation (gRefCOCO) asks. :class:`ReferringEncoderDecoder` builds it from
    its ``existence_head`` config, adds ``loss_exist`` to the mask losses in training, and at
    inference empties the mask of every sample with p < ``threshold``.

    From a query q (B, D) and the visual level V = ``inputs[in_index]`` (B, C, h, w):

    * q = LayerNorm(Linear(x)), where x is, with ``query_from=None`` (LAVT-family models),
      the mean of the real tokens of ``text_feats['feats']`` (B, Nt, C_l); with
      ``query_from`` the name of a segmentor submodule, its output (B, C_q) in the same
      forward pass, e.g. ``'decode_head.fg_proj'``, BTDNet's target prototype p_fg;
    * K = LayerNorm(Linear(V)) (B, hw, D), the pixels as keys;
    * s = K q / sqrt(D) (B, hw), a = softmax(s), pooled = a^T K (B, D): the pixels that
      match the query, pooled;
    * logit = MLP([q; pooled; q ⊙ pooled; max(s)]), (B,), with a hidden layer of D.

    The loss is ``loss_weight`` times the binary cross-entropy of the logit against each
    sample's metainfo ``has_target`` (True when absent). Gradients reach the backbone and,
    through ``query_from``, the module that made the query.

    Args:
        in_channels (int): Channels C of the visual level.
        in_index (int): Which backbone output is the visual level. Defaults to -1 (the
            coarsest, most fused one).
        channels (int): Width D. Defaults to 256.
        text_channels (int): Text width C_l (used when ``query_from`` is None).
            Defaults to 768.
        query_from (str, optional): Segmentor submodule whose (B, C_q) output is the query
            source. Defaults to None (the pooled text).
        query_channels (int, optional): C_q; required with ``query_from``. Defaults to None.
        threshold (float): Inference empties the mask where p < threshold, in [0, 1].
            Defaults to 0.5.
        loss_weight (float): Weight of the BCE. Defaults to 1.0.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.
    """
    takes_text = True

    def __init__(self,
                 in_channels: int,
                 in_index: int = -1,
                 channels: int = 256,
                 text_channels: int = 768,
                 query_from: Optional[str] = None,
                 query_channels: Optional[int] = None,
                 threshold: float = 0.5,
                 loss_weight: float = 1.0,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or not isinstance(in_index, int):
            raise TypeError('ExistenceHead reads one visual level: in_channels and in_index must '
                            f'be ints, got in_channels={in_channels}, in_index={in_index}')
        if (query_from is None) != (query_channels is None):
            raise ValueError('ExistenceHead: give query_from and query_channels together '
                             f'(got query_from={query_from!r}, query_channels={query_channels})')
        if not 0 <= threshold <= 1:
            raise ValueError(f'ExistenceHead: threshold must lie in [0, 1], got {threshold}')
        self.in_index = in_index
        self.channels = channels
        self.query_from = query_from
        self.threshold = threshold
        self.loss_weight = loss_weight
        self.query_proj = nn.Linear(query_channels if query_from else text_channels, channels)
        self.query_norm = nn.LayerNorm(channels)
        self.key_proj = nn.Linear(in_channels, channels)
        self.key_norm = nn.LayerNorm(channels)
        self.classifier = nn.Sequential(
            nn.Linear(3 * channels + 1, channels), nn.ReLU(inplace=True), nn.Linear(channels, 1))

    def forward(self, inputs: List[Tensor], text_feats: Dict[str, Tensor],
                query: Optional[Tensor] = None) -> Tensor:
        """Existence logits.

        Args:
            inputs (list[Tensor]): Visual levels (B, C_i, h_i, w_i).
            text_feats (dict): ``feats`` (B, Nt, C_l) and ``mask`` (B, Nt).
            query (Tensor, optional): (B, C_q) output of ``query_from``; required with it.
                Defaults to None.

        Returns:
            Tensor: (B,) logits of p(target present).
        """
        if self.query_from is not None:
            if query is None:
                raise ValueError(f'ExistenceHead(query_from={self.query_from!r}) got no query')
            source = query
        else:
            source = masked_mean(text_feats['feats'], text_feats['mask'])
        q = self.query_norm(self.query_proj(source))
        keys = self.key_norm(self.key_proj(inputs[self.in_index].flatten(2).transpose(1, 2)))
        scores = torch.einsum('bnd,bd->bn', keys, q) / math.sqrt(self.channels)
        pooled = torch.einsum('bn,bnd->bd', scores.softmax(dim=1), keys)
        peak = scores.amax(dim=1, keepdim=True)
        return self.classifier(torch.cat([q, pooled, q * pooled, peak], dim=1)).squeeze(1)

    def loss(self, logits: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """BCE against ``has_target``.

        Args:
            logits (Tensor): (B,) existence logits.
            batch_data_samples (list[SegDataSample]): Samples, metainfo ``has_target``
                optional (True when absent).

        Returns:
            dict[str, Tensor]: ``loss_exist`` (times ``loss_weight``) and ``acc_exist``, the
            share of samples on the right side of ``threshold``, in percent.
        """
        target = logits.new_tensor(
            [float(s.metainfo.get('has_target', True)) for s in batch_data_samples])
        # float32 under autocast, as the mask losses
        loss = F.binary_cross_entropy_with_logits(logits.float(), target.float())
        present = logits.detach().sigmoid() >= self.threshold
        accuracy = (present == target.bool()).float().mean() * 100
        return dict(loss_exist=self.loss_weight * loss, acc_exist=accuracy)
