"""BTDNet's Dual-Modal Object Learning Strategy (D-MOLS), paper section III-E."""
from typing import List

from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptMultiConfig, SampleList
from torch import Tensor, nn

from mmrrsis.registry import MODELS
from ..utils import CrossAttentionLayer, sine_positional_encoding
from ..utils.text_feats import TextFeats, text_item


@MODELS.register_module()
class DMOLSHead(BaseModule):
    """Joint Reconstruction of the masked expression; a training-only auxiliary head.

    Implements BTDNet Sec. III-E (Eqs. 12-14) with a 2-step pre-norm transformer decoder
    (:class:`CrossAttentionLayer`): F_m attends to L'_4 (padding masked), then to V'_4 with
    2-D sine positions on the keys; R = Linear(LayerNorm(q)) (B, Nt, C_l). Against
    E = BERT(input_ids) (``target_feats``, stop-gradient), per sample::

        L_rec = (1 / N) Σ_i ||r_i - sg(t_i)||²,   loss_rec = μ · mean over samples

    over the sample's N selected tokens. mmseg calls auxiliary heads only in ``loss``, so
    the head costs nothing at test time.

    Args:
        in_channels (int): Channels of the visual level used as memory (V'_4).
        in_index (int): Which backbone output that is. Defaults to -1.
        channels (int): Decoder width D. Defaults to 256.
        text_channels (int): Text width C_l of F_m, L'_4 and E. Defaults to 768.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_ratio (int): FFN hidden width as a multiple of D. Defaults to 4.
        dropout (float): Attention/FFN dropout. Defaults to 0.
        rec_tokens (str): Tokens in L_rec: ``'all'`` real (non-pad) tokens, or ``'masked'``,
            only those whose ids the key-phrase masker replaced (needs
            ``text_feats['masked_token_mask']``). Defaults to 'all'.
        channel_reduction (str): How the squared error of a token is reduced over its C_l
            channels: ``'sum'``, the squared L2 distance of Eq. 13, or ``'mean'`` (that
            divided by C_l, i.e. μ scaled by 1/C_l; not the paper's loss). Defaults to 'sum'.
        loss_weight (float): μ. Defaults to 0.1.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults to None.
    """
    takes_text = True
    mask_loss = False

    def __init__(self,
                 in_channels: int,
                 in_index: int = -1,
                 channels: int = 256,
                 text_channels: int = 768,
                 num_heads: int = 8,
                 ffn_ratio: int = 4,
                 dropout: float = 0.0,
                 rec_tokens: str = 'all',
                 channel_reduction: str = 'sum',
                 loss_weight: float = 0.1,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or not isinstance(in_index, int):
            raise TypeError('DMOLSHead reads one visual level: in_channels and in_index must be '
                            f'ints, got in_channels={in_channels}, in_index={in_index}')
        if rec_tokens not in ('all', 'masked'):
            raise ValueError(f"DMOLSHead: rec_tokens must be 'all' or 'masked', got "
                             f'{rec_tokens!r}')
        if channel_reduction not in ('sum', 'mean'):
            raise ValueError(f"DMOLSHead: channel_reduction must be 'sum' (Eq. 13) or 'mean', "
                             f'got {channel_reduction!r}')
        self.in_channels = in_channels
        self.in_index = in_index
        self.channels = channels
        self.rec_tokens = rec_tokens
        self.channel_reduction = channel_reduction
        self.loss_weight = loss_weight
        self.query_proj = nn.Linear(text_channels, channels)
        self.text_proj = nn.Linear(text_channels, channels)
        self.visual_proj = nn.Linear(in_channels, channels)
        self.text_step = CrossAttentionLayer(channels, num_heads, ffn_ratio, dropout)
        self.visual_step = CrossAttentionLayer(channels, num_heads, ffn_ratio, dropout)
        self.out_norm = nn.LayerNorm(channels)
        self.out_proj = nn.Linear(channels, text_channels)

    def forward(self, inputs: List[Tensor], text_feats: TextFeats) -> Tensor:
        """Reconstructs the expression's token features (Eq. 12).

        Args:
            inputs (list[Tensor]): Visual features; ``inputs[in_index]`` is V'_4
                (B, C, h, w).
            text_feats (dict): ``masked_feats`` F_m and ``feats`` L'_4 (B, Nt, C_l),
                ``mask`` (B, Nt).

        Returns:
            Tensor: (B, Nt, C_l) reconstruction R.
        """
        masked = text_item(text_feats, 'masked_feats', 'DMOLSHead',
                           "F_m = BERT(masked_ids), the text pass dict(name='masked', ids='masked_ids')")
        words = text_item(text_feats, 'feats', 'DMOLSHead', "L'_4")
        mask = text_item(text_feats, 'mask', 'DMOLSHead', 'text padding mask')
        visual = inputs[self.in_index]
        height, width = visual.shape[2:]
        memory = self.visual_proj(visual.flatten(2).transpose(1, 2))
        pos = sine_positional_encoding(height, width, self.channels, device=visual.device,
                                       dtype=visual.dtype).flatten(1).t()[None]
        query = self.text_step(self.query_proj(masked), self.text_proj(words), memory_mask=mask)
        query = self.visual_step(query, memory, memory_pos=pos)
        return self.out_proj(self.out_norm(query))

    def reconstruction_loss(self, rec: Tensor, target: Tensor, selected: Tensor) -> Tensor:
        """L_rec (Eq. 13), unweighted: per-sample token mean, then mean over samples.

        Args:
            rec (Tensor): (B, Nt, C_l) reconstruction R.
            target (Tensor): (B, Nt, C_l) target E (gradient stopped here again).
            selected (Tensor): (B, Nt), 1 for tokens that count.

        Returns:
            Tensor: scalar loss (0, still attached to R, when no token is selected).
        """
        error = (rec - target.detach()).pow(2)
        error = error.sum(-1) if self.channel_reduction == 'sum' else error.mean(-1)
        selected = selected.to(error.dtype)
        counts = selected.sum(1)
        per_sample = (error * selected).sum(1) / counts.clamp(min=1)
        present = (counts > 0).to(error.dtype)
        return (per_sample * present).sum() / present.sum().clamp(min=1)

    def loss(self, inputs: List[Tensor], text_feats: TextFeats,
             batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        """Computes ``loss_rec`` = μ·L_rec.

        Args:
            inputs (list[Tensor]): Visual features from the backbone.
            text_feats (dict): As :meth:`forward`, plus ``target_feats`` E (B, Nt, C_l) and,
                for ``rec_tokens='masked'``, ``masked_token_mask`` (B, Nt).
            batch_data_samples (list[SegDataSample]): Unused; the target is textual.
            train_cfg (dict): Unused.

        Returns:
            dict[str, Tensor]: ``loss_rec``.
        """
        target = text_item(
            text_feats, 'target_feats', 'DMOLSHead',
            "E = BERT(input_ids), the reconstruction target: declare the extractor's text pass "
            "dict(name='target', frozen=True, training_only=True)")
        selected = text_item(text_feats, 'mask', 'DMOLSHead', 'text padding mask').bool()
        if self.rec_tokens == 'masked':
            selected = selected & text_item(
                text_feats, 'masked_token_mask', 'DMOLSHead',
                "(B, Nt) bool, True where masked_ids differ from input_ids; required by "
                "rec_tokens='masked'").bool()
        rec = self.forward(inputs, text_feats)
        return dict(loss_rec=self.loss_weight * self.reconstruction_loss(rec, target, selected))

    def predict(self, *args, **kwargs):
        """Not available: D-MOLS only shapes training."""
        raise RuntimeError('DMOLSHead is a training-only auxiliary head (D-MOLS); it has no '
                           'prediction. Use it as auxiliary_head, never as decode_head.')
