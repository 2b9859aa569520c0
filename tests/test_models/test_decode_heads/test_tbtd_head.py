import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.models.decode_heads import TBTDHead
from mmrrsis.models.decode_heads.tbtd_head import MCILayer
from mmrrsis.registry import MODELS

B, NT, D, C_L, SIZE = 2, 8, 32, 32, 64
IN_CHANNELS = [8, 16, 24, 32]


def make_head(**kwargs):
    cfg = dict(type='TBTDHead', in_channels=IN_CHANNELS, channels=D, text_channels=C_L,
               num_heads=4, num_mci=2, norm_cfg=dict(type='GN', num_groups=8))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def make_inputs(seed=1):
    """V'_1..V'_4 of a 64x64 image (16/8/4/2) and a text dict; sample 0 has 3 padded tokens."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(B, c, SIZE // 4 // 2**i, SIZE // 4 // 2**i, generator=gen)
              for i, c in enumerate(IN_CHANNELS)]
    mask = torch.ones(B, NT, dtype=torch.long)
    mask[0, 5:] = 0
    text_feats = dict(feats=torch.randn(B, NT, C_L, generator=gen), mask=mask,
                      masked_feats=torch.randn(B, NT, C_L, generator=gen))
    return inputs, text_feats


def make_samples(labels):
    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None].long())
        samples.append(sample)
    return samples


def random_labels(size=SIZE, seed=2):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(B, size, size, generator=gen) > 0.6).long()


def test_component_shapes():
    head = make_head()
    inputs, text_feats = make_inputs()
    x, x_pos, shapes, t = head.multi_scale_context(inputs[1:], text_feats)
    assert shapes == [(8, 8), (4, 4), (2, 2)]
    assert x.shape == (B, 64, D)  # only the stride-8 level is read (no refine_bg)
    assert x_pos.shape == (1, 64 + 16 + 4, D)
    x_all = make_head(refine_bg=True).multi_scale_context(inputs[1:], text_feats)[0]
    assert x_all.shape == (B, 64 + 16 + 4, D)
    assert t.shape == (B, NT, D)
    pixel = head.pixel_features(inputs[0], x, shapes)
    assert pixel.shape == (B, D, 16, 16)
    bg_queries = head.background_queries(text_feats, x, x_pos)
    assert bg_queries.shape == (B, 5 + 1 + 2 + 4, D)
    logits = head(inputs, text_feats)
    assert logits.shape == (B, 2, 16, 16)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize('ms_attn', ['sdpa', 'deformable'])
def test_mci_layer_num_out_equals_the_full_layer(ms_attn):
    gen = torch.Generator().manual_seed(4)
    shapes = [(4, 4), (2, 2), (1, 1)]
    x = torch.randn(B, 21, D, generator=gen)
    t = torch.randn(B, NT, D, generator=gen)
    x_pos = torch.randn(1, 21, D, generator=gen)
    refs = torch.rand(1, 21, 2, generator=gen)
    mask = torch.ones(B, NT)
    mask[0, 5:] = 0
    layer = MCILayer(D, 3, 4, 2, ms_attn=ms_attn)
    full_x, full_t = layer(x, t, x_pos, mask, refs, shapes)
    part_x, part_t = layer(x, t, x_pos, mask, refs, shapes, num_out=16)
    assert part_x.shape == (B, 16, D)
    torch.testing.assert_close(part_x, full_x[:, :16], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(part_t, full_t)


@pytest.mark.parametrize('num_bg_prompts', [3, 5, 7])
@pytest.mark.parametrize('use_bg_prior', [True, False])
def test_background_query_count(num_bg_prompts, use_bg_prior):
    head = make_head(num_bg_prompts=num_bg_prompts, use_bg_prior=use_bg_prior)
    inputs, text_feats = make_inputs()
    if not use_bg_prior:
        # Without the prior F_m is not needed at all.
        del text_feats['masked_feats']
    x, x_pos, _, _ = head.multi_scale_context(inputs[1:], text_feats)
    bg_queries = head.background_queries(text_feats, x, x_pos)
    expected = num_bg_prompts + (1 + 2 + 4 if use_bg_prior else 0)
    assert bg_queries.shape == (B, expected, D)
    assert head(inputs, text_feats).shape == (B, 2, 16, 16)


def test_background_prior_pools_each_sample_over_its_real_tokens():
    head = make_head(bg_pool_sizes=(1, 2, 4))
    nt = 20
    mask = torch.zeros(3, nt, dtype=torch.long)
    mask[0, :3] = 1  # 3 real tokens
    mask[1, [0, 2, 3, 7]] = 1  # 4 real tokens, not a prefix
    mask[2] = 1  # 20 real tokens
    gen = torch.Generator().manual_seed(6)
    masked = torch.randn(3, nt, C_L, generator=gen)
    text_feats = dict(mask=mask, masked_feats=masked)
    x, x_pos = torch.zeros(3, 4, D), torch.zeros(1, 4, D)
    with torch.no_grad():
        embedded = head.bg_embed(masked)
        queries = head.background_queries(text_feats, x, x_pos)
    assert queries.shape == (3, 5 + 1 + 2 + 4, D)
    for b in range(3):
        real = embedded[b, mask[b].bool()].t()[None]  # (1, D, n_b)
        start = 5
        for size in (1, 2, 4):
            pooled = queries[b, start:start + size]
            expected = F.adaptive_avg_pool1d(real, size)[0].t()
            assert torch.allclose(pooled, expected, atol=1e-5), (b, size)
            assert (pooled.abs().sum(-1) > 1e-3).all(), (b, size)
            if size > 1:
                assert torch.cdist(pooled, pooled)[~torch.eye(size, dtype=torch.bool)].min() \
                    > 1e-3, (b, size)
            start += size
    padded = masked.clone()
    padded[~mask.bool()] = 1e4
    with torch.no_grad():
        changed = head.background_queries(dict(mask=mask, masked_feats=padded), x, x_pos)
    assert torch.equal(changed, queries)


def test_token_bin_weights_match_adaptive_pooling_bins():
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 0, 1, 1]])
    weights = TBTDHead.token_bin_weights(mask, 4)
    # 3 real tokens into 4 bins: adaptive pooling takes ranks [0], [0, 1], [1, 2], [2].
    expected = torch.tensor([[[1, 0, 0, 0, 0], [.5, .5, 0, 0, 0], [0, .5, .5, 0, 0],
                              [0, 0, 1, 0, 0]],
                             [[0, 1, 0, 0, 0], [0, .5, 0, .5, 0], [0, 0, 0, .5, .5],
                              [0, 0, 0, 0, 1]]])
    assert torch.allclose(weights, expected)
    empty = TBTDHead.token_bin_weights(torch.zeros(1, 5, dtype=torch.long), 2)
    assert torch.equal(empty, torch.zeros(1, 2, 5))


def test_background_refinement_is_off_by_default():
    assert make_head().bg_refine is None
    head = make_head(refine_bg=True)
    assert head.bg_refine is not None
    inputs, text_feats = make_inputs()
    assert head(inputs, text_feats).shape == (B, 2, 16, 16)


def test_plain_fusion_builds_no_mci_and_sums_projected_levels():
    head = make_head(context='plain')
    assert not any(isinstance(m, MCILayer) for m in head.modules())
    for name in ('mci_layers', 'level_embed', 'x_norm', 't_norm'):
        assert not hasattr(head, name), name
    inputs, text_feats = make_inputs()
    x, x_pos, shapes, t = head.plain_fusion(inputs[1:], text_feats)
    assert shapes == [(8, 8)]
    assert x.shape == (B, 64, D) and x_pos.shape == (1, 64, D) and t.shape == (B, NT, D)
    fused = head.level_projs[0](inputs[1])
    for proj, feat in zip(head.level_projs[1:], inputs[2:]):
        fused = fused + F.interpolate(proj(feat), size=(8, 8), mode='bilinear',
                                      align_corners=False)
    assert torch.allclose(x, fused.flatten(2).transpose(1, 2), atol=1e-5)
    # no vision-language interaction: T does not see the image
    assert torch.allclose(t, head.text_proj(text_feats['feats']))
    logits = head(inputs, text_feats)
    assert logits.shape == (B, 2, 16, 16)
    losses = head.loss(inputs, text_feats, make_samples(random_labels()), train_cfg=None)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    refined = make_head(context='plain', refine_bg=True)
    assert refined(inputs, text_feats).shape == (B, 2, 16, 16)


def test_padded_tokens_do_not_change_the_prediction():
    head = make_head().eval()
    inputs, text_feats = make_inputs()
    with torch.no_grad():
        before = head(inputs, text_feats)
        for key in ('feats', 'masked_feats'):
            text_feats[key][0, 5:] = 100.0
        after = head(inputs, text_feats)
    assert torch.allclose(before, after, atol=1e-5)


def test_deformable_multi_scale_attention():
    head = make_head(ms_attn='deformable', num_points=2)
    inputs, text_feats = make_inputs()
    logits = head(inputs, text_feats)
    assert logits.shape == (B, 2, 16, 16)
    losses = head.loss_by_feat(logits, make_samples(random_labels()))
    (losses['loss_fg'] + losses['loss_bg']).backward()
    offsets = head.mci_layers[0].ms_attn.sampling_offsets
    assert offsets.weight.grad is not None and offsets.weight.grad.abs().sum() > 0


def test_prediction_rule_target_where_fg_beats_bg():
    head = make_head()
    gen = torch.Generator().manual_seed(3)
    bg = torch.randn(B, 16, 16, generator=gen)
    target = torch.rand(B, 16, 16, generator=gen) > 0.7
    fg = torch.where(target, bg + 0.5, bg - 0.5)
    logits = torch.stack((bg, fg), dim=1)
    metas = [dict(img_shape=(16, 16), ori_shape=(16, 16))] * B
    pred = head.predict_by_feat(logits, metas).argmax(dim=1)
    assert torch.equal(pred.bool(), target)


def test_predict_matches_forward_logits():
    head = make_head().eval()
    inputs, text_feats = make_inputs()
    metas = [dict(img_shape=(16, 16), ori_shape=(16, 16))] * B
    with torch.no_grad():
        logits = head(inputs, text_feats)
        pred = head.predict(inputs, text_feats, metas, test_cfg=None).argmax(dim=1)
    assert torch.equal(pred.bool(), logits[:, 1] > logits[:, 0])


def test_losses_are_masked_bce_with_configured_weight():
    head = make_head()
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(B, 2, SIZE, SIZE, generator=gen)
    labels = random_labels()
    labels[0, :10] = 255
    losses = head.loss_by_feat(logits, make_samples(labels))
    valid = labels != 255
    target = (labels == 1).float()
    expected_fg = F.binary_cross_entropy_with_logits(logits[:, 1][valid], target[valid])
    expected_bg = F.binary_cross_entropy_with_logits(logits[:, 0][valid], 1 - target[valid])
    assert torch.allclose(losses['loss_fg'], expected_fg, atol=1e-6)
    assert torch.allclose(losses['loss_bg'], 0.6 * expected_bg, atol=1e-6)
    pred = logits.argmax(1)
    expected_acc = 100.0 * (pred[valid] == labels[valid]).float().mean()
    assert torch.allclose(losses['acc_seg'], expected_acc.reshape(1), atol=1e-3)


def test_bg_loss_weight_scales_only_the_background_loss():
    inputs, text_feats = make_inputs()
    samples = make_samples(random_labels())
    head_06 = make_head(bg_loss_weight=0.6)
    head_10 = make_head(bg_loss_weight=1.0)
    head_10.load_state_dict(head_06.state_dict())
    losses_06 = head_06.loss(inputs, text_feats, samples, train_cfg=None)
    losses_10 = head_10.loss(inputs, text_feats, samples, train_cfg=None)
    assert torch.allclose(losses_06['loss_fg'], losses_10['loss_fg'])
    assert torch.allclose(losses_06['loss_bg'] / losses_10['loss_bg'], torch.tensor(0.6))


def test_zero_bg_loss_weight_drops_the_background_stream():
    head = make_head(bg_loss_weight=0.0)
    assert not hasattr(head, 'bg_prompts') and not hasattr(head, 'bg_proj')
    inputs, text_feats = make_inputs()
    del text_feats['masked_feats']
    logits = head(inputs, text_feats)
    assert torch.equal(logits[:, 0], torch.zeros_like(logits[:, 0]))
    losses = head.loss(inputs, text_feats, make_samples(random_labels()), train_cfg=None)
    assert set(losses) == {'loss_fg', 'acc_seg'}


def test_ignored_pixels_do_not_change_the_loss():
    head = make_head()
    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(B, 2, SIZE, SIZE, generator=gen)
    labels = random_labels()
    labels[:, 20:30, 5:50] = 255
    losses = head.loss_by_feat(logits, make_samples(labels))
    changed = logits.clone()
    changed[:, :, 20:30, 5:50] = torch.randn(B, 2, 10, 45, generator=gen) * 10
    changed_losses = head.loss_by_feat(changed, make_samples(labels))
    for key in ('loss_fg', 'loss_bg', 'acc_seg'):
        assert torch.allclose(losses[key], changed_losses[key]), key


def test_logits_are_resized_to_the_label_size():
    head = make_head()
    logits = torch.randn(B, 2, 16, 16)
    losses = head.loss_by_feat(logits, make_samples(random_labels(SIZE)))
    upsampled = F.interpolate(logits, size=(SIZE, SIZE), mode='bilinear', align_corners=False)
    assert torch.allclose(losses['loss_fg'],
                          head.loss_by_feat(upsampled, make_samples(random_labels(SIZE)))
                          ['loss_fg'])


def test_gradients_are_finite_for_all_parameters():
    head = make_head()
    inputs, text_feats = make_inputs()
    losses = head.loss(inputs, text_feats, make_samples(random_labels()), train_cfg=None)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_config_errors_name_the_fault():
    with pytest.raises(ValueError, match='num_classes'):
        make_head(num_classes=3)
    with pytest.raises(ValueError, match='loss_decode'):
        make_head(loss_decode=dict(type='CrossEntropyLoss'))
    with pytest.raises(ValueError, match='ms_attn'):
        make_head(ms_attn='window')
    with pytest.raises(ValueError, match='context'):
        make_head(context='fpn')
    head = make_head()
    inputs, text_feats = make_inputs()
    del text_feats['masked_feats']
    with pytest.raises(KeyError, match='masked_feats'):
        head(inputs, text_feats)


def test_is_registered_and_exported():
    assert MODELS.get('TBTDHead') is TBTDHead
    assert TBTDHead.takes_text
