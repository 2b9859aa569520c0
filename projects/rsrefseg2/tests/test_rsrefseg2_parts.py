"""RSRefSeg 2's parts: prompter shapes and its dense prompt, the head's stability fallback on a
hand-made case, the auxiliary losses against hand-computed values."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmrrsis.models.utils import TextFeats
from projects.rsrefseg2.rsrefseg2 import (CascadedPrompter, QueryDecorrelationLoss,
                                          RegionTextContrastLoss, SAM2PromptHead)

SAM2 = dict(
    vision_config=dict(
        backbone_config=dict(hidden_size=16, num_attention_heads=1, blocks_per_stage=[1, 1, 2, 1],
                             embed_dim_per_stage=[16, 32, 64, 128],
                             num_attention_heads_per_stage=[1, 2, 4, 8],
                             window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
                             window_positional_embedding_background_size=[4, 4]),
        backbone_channel_list=[128, 64, 32, 16], fpn_hidden_size=32),
    prompt_encoder_config=dict(hidden_size=32, image_size=64, patch_size=16,
                               mask_input_channels=16),
    mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                             iou_head_hidden_dim=32))


def _prompter():
    torch.manual_seed(0)
    return CascadedPrompter(text_dims=24, img_dims=24, prompt_dims=32, num_heads=2,
                            internal_dims=16, mlp_dims=16, num_queries=3, num_prompts=4,
                            text_layers=2, image_layers=1, prompt_layers=2, pe_size=4).eval()


def _text_feats(batch=2, length=5, grid=4, dims=24):
    return TextFeats(feats=torch.randn(batch, length, dims),
                     mask=torch.ones(batch, length, dtype=torch.long),
                     pooled=torch.randn(batch, dims),
                     vision_feats=torch.randn(batch, grid * grid, dims),
                     logit_scale=torch.tensor([math.log(10.)]), logit_bias=torch.tensor([-1.]))


@pytest.mark.parametrize('grid', [4, 6])
def test_prompter_shapes_and_dense_prompt(grid):
    prompter = _prompter()
    feats = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 32, 4, 4)]
    text_feats = _text_feats(grid=grid)
    with torch.no_grad():
        out = prompter(feats, text_feats)
    s0, s1, emb, sparse, dense, q1, q2 = out
    assert all(a is b for a, b in zip(out[:3], feats))
    assert sparse.shape == (2, 4, 32) and dense.shape == (2, 1, 16, 16)
    assert q1.shape == q2.shape == (2, 3, 24)
    # the dense prompt is a cosine in SigLIP's logit units: 10 cos - 1, within [-11, 9]
    assert dense.min() >= -11 - 1e-4 and dense.max() <= 9 + 1e-4
    # the pooled text only steers the dense prompt
    text_feats['pooled'] = -text_feats['pooled']
    with torch.no_grad():
        flipped = prompter(feats, text_feats)
    torch.testing.assert_close(flipped[3], sparse)
    torch.testing.assert_close(flipped[4], -(dense + 1) - 1)


def test_prompter_names_missing_text_feats():
    feats = _text_feats()
    del feats['vision_feats']
    with pytest.raises(KeyError, match="CascadedPrompter needs text_feats\\['vision_feats'\\]"):
        _prompter()([torch.zeros(2, 32, 4, 4)], feats)


def test_head_stability_fallback():
    """A hand-made decoder whose token-0 mask is unstable (all logits within ±δ) and whose
    token 2 has the best predicted IoU: eval mode with the fallback returns token 2's mask."""
    head = SAM2PromptHead(dict(type='HFSam2MaskDecoder', sam2_config=SAM2),
                          loss_decode=dict(type='SigmoidDiceLoss'))
    decoder = head.sam.mask_decoder
    with torch.no_grad():
        for p in decoder.parameters():
            p.zero_()
        # the hypernetwork's last bias sets each token's mask: constant over the upscaled
        # features' channels; upscale_conv2 bias 1 after GELU gives features ~0.84
        decoder.upscale_conv2.bias.fill_(1.0)
        for token, value in enumerate([0.01, -3.0, 5.0, 2.0]):
            decoder.output_hypernetworks_mlps[token].proj_out.bias.fill_(value)
        decoder.iou_prediction_head.proj_out.bias.copy_(torch.tensor([0., 0.1, 0.9, 0.5]))
    feats = [torch.zeros(1, 4, 16, 16), torch.zeros(1, 8, 8, 8), torch.zeros(1, 32, 4, 4),
             torch.zeros(1, 2, 32), torch.zeros(1, 1, 16, 16)]
    with torch.no_grad():
        head.train()
        token0 = head(feats, TextFeats())
        head.eval()
        fallback = head(feats, TextFeats())
        head.sam.dynamic_multimask_via_stability = False
        no_fallback = head(feats, TextFeats())
    feature = F.gelu(torch.tensor(1.0))
    assert torch.allclose(token0, torch.full_like(token0, 0.01 * 4 * feature))
    torch.testing.assert_close(no_fallback, token0)
    assert torch.allclose(fallback, torch.full_like(fallback, 5.0 * 4 * feature))


def test_decorrelation_loss():
    q1 = torch.tensor([[[1., 0.], [1., 0.]], [[1., 1.], [1., 1.]]])
    q2 = torch.tensor([[[0., 2.], [0., 2.]], [[3., 3.], [1., 1.]]])
    # cos = 0 for the first sample, 1 for the second
    assert QueryDecorrelationLoss(loss_weight=0.5)(q1, q2).item() == pytest.approx(0.25)


def test_contrast_loss_masks_and_padding():
    tokens = torch.zeros(2, 4, 3)
    tokens[0, 0] = torch.tensor([1., 0., 0.])  # cell (0, 0)
    tokens[1, 3] = torch.tensor([0., 1., 0.])  # cell (1, 1)
    tokens[1, 0] = torch.tensor([0., 0., 5.])
    q2 = torch.tensor([[[1., 0., 0.]], [[0., 1., 0.]]])
    label = torch.zeros(2, 2, 2, dtype=torch.long)
    label[0, 0, 0] = 1
    label[1, 1, 1] = 1
    label[1, 0, 0] = 255  # padding: background unless count_ignored
    loss = RegionTextContrastLoss(init_scale=0.0, init_bias=0.0, loss_weight=1.0)
    logits = torch.eye(2)  # matched pairs: cosine 1, others 0
    expected = F.cross_entropy(logits, torch.arange(2))
    torch.testing.assert_close(loss(tokens, q2, label), expected)
    ignored = RegionTextContrastLoss(init_scale=0.0, init_bias=0.0, loss_weight=1.0,
                                     count_ignored=True)(tokens, q2, label)
    assert ignored > expected
