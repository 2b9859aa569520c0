"""ExistenceHead: shapes, what it reads, its BCE against has_target, gradients."""
import math

import pytest
import torch
from mmseg.structures import SegDataSample

from mmrrsis.models.decode_heads import ExistenceHead


def _inputs(batch=2, channels=12, size=3):
    torch.manual_seed(0)
    visual = [torch.randn(batch, 6, 8, 8), torch.randn(batch, channels, size, size)]
    text = dict(feats=torch.randn(batch, 5, 10), mask=torch.tensor([[1, 1, 1, 0, 0]] * batch))
    return visual, text


def _samples(*has_target):
    samples = []
    for flag in has_target:
        sample = SegDataSample()
        if flag is not None:
            sample.set_metainfo(dict(has_target=flag))
        samples.append(sample)
    return samples


def test_logits_from_pooled_text_ignore_padding():
    head = ExistenceHead(in_channels=12, channels=16, text_channels=10)
    visual, text = _inputs()
    logits = head(visual, text)
    assert logits.shape == (2, )
    # padded tokens do not reach the query
    text['feats'][:, 3:] = 1e3
    assert torch.allclose(head(visual, text), logits)
    # the visual level read is inputs[in_index] (the last by default)
    visual[0] = visual[0] * 0
    assert torch.allclose(head(visual, text), logits)
    visual[1] = visual[1].flip(0)
    assert not torch.allclose(head(visual, text), logits)


def test_keys_know_where_they_are():
    """With the position code a map that is one feature everywhere still tells its cells
    apart, and the code is x, y of the cell centres; without it the cells are equal."""
    centres = ExistenceHead._cell_centres(2, 3, torch.zeros(1))
    assert torch.allclose(centres, torch.tensor(
        [[-2 / 3, -0.5], [0, -0.5], [2 / 3, -0.5], [-2 / 3, 0.5], [0, 0.5], [2 / 3, 0.5]]))
    visual, text = _inputs()
    visual[1] = torch.ones_like(visual[1])
    for position_encoding in (True, False):
        head = ExistenceHead(in_channels=12, channels=16, text_channels=10,
                             position_encoding=position_encoding)
        keys = head.key_proj(visual[1].flatten(2).transpose(1, 2))
        if position_encoding:
            keys = keys + head.pos_proj(head._cell_centres(3, 3, keys))
        keys = head.key_norm(keys)
        assert (keys.std(dim=1).amax() > 1e-3) == position_encoding
    assert sum(p.numel() for p in head.parameters()) < sum(
        p.numel() for p in ExistenceHead(in_channels=12, channels=16,
                                         text_channels=10).parameters())


def test_logits_from_a_query():
    head = ExistenceHead(in_channels=12, channels=16, query_output='target_prototype',
                         query_channels=7)
    visual, text = _inputs()
    query = torch.randn(2, 7)
    logits = head(visual, text, query)
    assert logits.shape == (2, )
    text['feats'] = torch.randn_like(text['feats'])  # the text is not read
    assert torch.equal(head(visual, text, query), logits)
    assert not torch.allclose(head(visual, text, query * 2), logits)
    with pytest.raises(ValueError, match="query_output='target_prototype'.*no"):
        head(visual, text)


def test_mask_evidence_reads_the_decode_head_logits():
    head = ExistenceHead(in_channels=12, channels=16, text_channels=10, mask_evidence=True)
    visual, text = _inputs()
    torch.manual_seed(1)
    seg = torch.randn(2, 2, 12, 12, requires_grad=True)
    logits = head(visual, text, seg_logits=seg)
    assert logits.shape == (2, )
    # only the margin fg - bg counts, and a 1-channel head's logit is that margin
    assert torch.allclose(head(visual, text, seg_logits=seg + 3.0), logits)
    margin = (seg[:, 1:] - seg[:, :1]).detach()
    assert torch.allclose(head(visual, text, seg_logits=margin), logits, atol=1e-6)
    assert not torch.allclose(head(visual, text, seg_logits=seg.flip(-1)), logits)
    # by hand: the region is the keys weighted by the mask pooled to the level's 3 x 3
    keys = head.key_norm(head.key_proj(visual[1].flatten(2).transpose(1, 2)) +
                         head.pos_proj(head._cell_centres(3, 3, seg)))
    q = head.query_norm(head.query_proj((text['feats'][:, :3]).mean(1)))
    region, q_region, stats = head._mask_features(seg, keys, q, (3, 3))
    prob = margin[:, 0].sigmoid()
    weights = prob.reshape(2, 3, 4, 3, 4).mean((2, 4)).flatten(1)
    assert torch.allclose(region, (weights[..., None] * keys).sum(1) / weights.sum(1)[:, None],
                          atol=1e-6)
    flat = margin.flatten(1)
    assert torch.allclose(stats[:, 0], flat.amax(1))
    assert torch.allclose(stats[:, 1], flat.sort(1, descending=True).values[:, :1].mean(1))
    assert torch.allclose(stats[:, 2], prob.flatten(1).mean(1))
    # gradients reach the logits unless detach_mask
    head.loss(logits, _samples(True, False))['loss_exist'].backward()
    assert seg.grad.abs().sum() > 0
    seg.grad = None
    head.detach_mask = True
    head.loss(head(visual, text, seg_logits=seg), _samples(True, False))['loss_exist'].backward()
    assert seg.grad is None
    with pytest.raises(ValueError, match='got no decode head logits'):
        head(visual, text)
    with pytest.raises(ValueError, match=r'binary logits .* got \(2, 3, 12, 12\)'):
        head(visual, text, seg_logits=torch.zeros(2, 3, 12, 12))


def test_token_matching_by_hand_and_padding():
    head = ExistenceHead(in_channels=12, channels=16, text_channels=10, token_matching=True)
    visual, text = _inputs()
    logits = head(visual, text)
    text['feats'][:, 3:] = 1e3  # padded tokens reach nothing
    assert torch.allclose(head(visual, text), logits)
    keys = head.key_norm(head.key_proj(visual[1].flatten(2).transpose(1, 2)) +
                         head.pos_proj(head._cell_centres(3, 3, visual[1])))
    found, mean_peak, weakest = head._token_features(text, keys)
    for b in range(2):
        u = head.token_norm(head.token_proj(text['feats'][b, :3]))  # the 3 real tokens
        s = keys[b] @ u.T / 4  # (9, 3), sqrt(16) = 4
        alpha = head.token_weight(u)[:, 0].softmax(0)
        peaks = s.max(0).values
        assert torch.allclose(found[b], (alpha[:, None] * (s.softmax(0).T @ keys[b])).sum(0),
                              atol=1e-5)
        assert torch.allclose(mean_peak[b, 0], (alpha * peaks).sum(), atol=1e-6)
        assert torch.allclose(weakest[b, 0], -torch.log((alpha * torch.exp(-peaks)).sum()),
                              atol=1e-5)
        assert weakest[b, 0] <= mean_peak[b, 0] + 1e-6  # a soft minimum lies below the mean


def test_bce_against_has_target():
    head = ExistenceHead(in_channels=12, channels=16, text_channels=10, loss_weight=2.0)
    logits = torch.tensor([2.0, -1.0, -0.5])
    losses = head.loss(logits, _samples(True, False, None))  # None: no key, has a target
    # BCE: -log(sigmoid(2)), -log(1 - sigmoid(-1)), -log(sigmoid(-0.5)), averaged
    expected = (math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)) +
                math.log1p(math.exp(0.5))) / 3
    assert losses['loss_exist'].item() == pytest.approx(2 * expected, rel=1e-6)
    # right: p = 0.88 present, p = 0.27 absent; wrong: p = 0.38 but a target is there
    assert losses['acc_exist'].item() == pytest.approx(100 * 2 / 3)
    # present_weight scales the terms of the samples with a target
    head = ExistenceHead(in_channels=12, channels=16, text_channels=10, present_weight=0.25)
    weighted = head.loss(logits, _samples(True, False, None))['loss_exist'].item()
    assert weighted == pytest.approx((0.25 * math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)) +
                                      0.25 * math.log1p(math.exp(0.5))) / 3, rel=1e-6)


def test_gradients_reach_the_features_and_the_query():
    head = ExistenceHead(in_channels=12, channels=16, query_output='x', query_channels=7)
    visual, text = _inputs()
    visual[1].requires_grad_(True)
    query = torch.randn(2, 7, requires_grad=True)
    head.loss(head(visual, text, query), _samples(True, False))['loss_exist'].backward()
    assert visual[1].grad.abs().sum() > 0 and query.grad.abs().sum() > 0
    assert all(p.grad is not None for p in head.parameters())


def test_detach_inputs_trains_the_head_alone():
    head = ExistenceHead(in_channels=12, channels=16, query_output='x', query_channels=7,
                         mask_evidence=True, detach_inputs=True)
    visual, text = _inputs()
    visual[1].requires_grad_(True)
    query = torch.randn(2, 7, requires_grad=True)
    seg = torch.randn(2, 1, 6, 6, requires_grad=True)
    logits = head(visual, text, query, seg)
    head.loss(logits, _samples(True, False))['loss_exist'].backward()
    assert visual[1].grad is None and query.grad is None and seg.grad is None
    assert all(p.grad is not None for p in head.parameters())
    # the same function as without the switch
    head.detach_inputs = head.detach_mask = False
    assert torch.equal(head(visual, text, query, seg), logits)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(in_channels=[12, 24]), TypeError, 'in_channels and in_index must be ints'),
    (dict(in_channels=12, query_output='target_prototype'), ValueError, 'together'),
    (dict(in_channels=12, query_channels=8), ValueError, 'together'),
    (dict(in_channels=12, threshold=1.5), ValueError, r'threshold must lie in \[0, 1\]'),
    (dict(in_channels=12, present_weight=0), ValueError, 'present_weight must be > 0'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        ExistenceHead(**kwargs)
