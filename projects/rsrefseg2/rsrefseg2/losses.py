"""RSRefSeg 2's two auxiliary losses on the prompter's query sets."""
import math

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_dist_info
from torch import Tensor, nn

from mmrrsis.registry import MODELS


@MODELS.register_module()
class QueryDecorrelationLoss(nn.Module):
    """Pushes the two query sets apart: mean over the batch of cos²(mean Q_1, mean Q_2).

    Args:
        loss_weight (float): Multiplier. Defaults to 0.5.
        loss_name (str): Name in the loss dict. Defaults to 'loss_decorrelation'.
    """

    def __init__(self, loss_weight: float = 0.5, loss_name: str = 'loss_decorrelation'):
        super().__init__()
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, q1: Tensor, q2: Tensor) -> Tensor:
        """(B, Q, C) query sets -> scalar loss."""
        cos = F.cosine_similarity(F.normalize(q1.mean(1), dim=1), F.normalize(q2.mean(1), dim=1),
                                  dim=1)
        return self.loss_weight * cos.pow(2).mean()


@MODELS.register_module()
class RegionTextContrastLoss(nn.Module):
    """Region-text contrast of the referred region's SigLIP feature and the mean of Q_2.

    The label is bilinearly resized (align_corners) to the SigLIP grid and thresholded at 0.5;
    the image side is the normalised mean of the image tokens under that mask, the text side
    the normalised mean of Q_2. Logits ``exp(τ) v uᵀ + β`` over the batch; the loss is the mean
    of the image-to-text and text-to-image cross-entropies against the diagonal. Under
    distributed training both sides are gathered from all processes (without gradient, the
    local slice with it), so the batch is the global one; otherwise it is the local batch.

    Pixels labelled ``ignore_index`` (padding) count as background; ``count_ignored=True``
    counts them as foreground, as RSRefSeg 2's code does.

    Args:
        init_scale (float): τ at start. Defaults to ln(1 / 0.07).
        init_bias (float): β at start (its gradient is zero: it shifts all logits alike).
            Defaults to ln 0.5.
        count_ignored (bool): Reproduce the reference's foreground padding. Defaults to False.
        ignore_index (int): Label of padding. Defaults to 255.
        loss_weight (float): Multiplier. Defaults to 0.5.
        loss_name (str): Name in the loss dict. Defaults to 'loss_contrast'.
    """

    def __init__(self,
                 init_scale: float = math.log(1 / 0.07),
                 init_bias: float = math.log(0.5),
                 count_ignored: bool = False,
                 ignore_index: int = 255,
                 loss_weight: float = 0.5,
                 loss_name: str = 'loss_contrast'):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(float(init_scale)))
        self.logit_bias = nn.Parameter(torch.tensor(float(init_bias)))
        self.count_ignored = count_ignored
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    @staticmethod
    def _gather(x: Tensor) -> Tensor:
        rank, world_size = get_dist_info()
        if world_size == 1:
            return x
        parts = all_gather(x.detach())
        parts[rank] = x
        return torch.cat(parts, dim=0)

    def forward(self, image_tokens: Tensor, q2: Tensor, seg_label: Tensor) -> Tensor:
        """Computes the loss.

        Args:
            image_tokens (Tensor): (B, N, C) SigLIP tokens on a square grid.
            q2 (Tensor): (B, Q, C) the second query set.
            seg_label (Tensor): (B, H, W) labels in {0, 1, ``ignore_index``}.

        Returns:
            Tensor: The scalar loss.
        """
        batch, tokens, _ = image_tokens.shape
        grid = math.isqrt(int(tokens))
        label = seg_label.float()
        if not self.count_ignored:
            label = label.masked_fill(seg_label == self.ignore_index, 0)
        mask = F.interpolate(label[:, None], size=(grid, grid), mode='bilinear',
                             align_corners=True)[:, 0] > 0.5
        region = (image_tokens * mask.flatten(1)[..., None].to(image_tokens)).mean(1)
        image_side = self._gather(F.normalize(region, dim=1))
        text_side = self._gather(F.normalize(q2.mean(1), dim=1))
        logits = self.logit_scale.exp() * image_side @ text_side.t() + self.logit_bias
        target = torch.arange(logits.shape[0], device=logits.device)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        return self.loss_weight * loss
