"""RMSIN's intra-scale interaction: the IIM fusion and its scale branch, on non-square maps."""
import torch
import torch.nn.functional as F

from mmrrsis.models.fusions import PWAM
from mmrrsis.registry import MODELS
from projects.rmsin.rmsin import IIM, ScaleBranch


def to_tokens(m):
    """(B, C, h, w) map -> (B, h*w, C) row-major tokens, the fusions' layout."""
    return m.flatten(2).transpose(1, 2)


def to_map(x, hw_shape):
    """(B, h*w, C) row-major tokens -> (B, C, h, w) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw_shape)


def inputs(channels=8, height=6, width=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    vis = torch.randn(2, channels, height, width, generator=gen)
    text = torch.randn(2, 5, 12, generator=gen)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    return vis, text, mask


def randomise_bn(module, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.5, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
            m.weight.data.normal_(1, 0.3, generator=gen)
            m.bias.data.normal_(0, 0.3, generator=gen)


def test_scale_branch_by_hand_on_a_non_square_map():
    branch = ScaleBranch().eval()
    randomise_bn(branch)
    assert sum(p.numel() for p in branch.parameters()) == 38
    x = torch.randn(2, 8, 5, 9)

    def step(s, m):
        kxk = s.kxk[3](s.kxk[2](s.kxk[1](s.kxk[0](m))))
        return s.pointwise[1](s.pointwise[0](m)) + kxk + s.identity(m)

    gate = torch.sigmoid(step(branch.steps[1], F.relu(step(branch.steps[0], x.mean(1, True)))))
    assert gate.shape == (2, 1, 5, 9)
    torch.testing.assert_close(branch(x), x * gate)


def test_iim_combines_pwam_and_scale_branch():
    torch.manual_seed(0)
    iim = IIM(8, text_channels=12).eval()
    iim.init_weights()
    randomise_bn(iim)
    vis, text, mask = inputs()
    assert vis.shape == (2, 8, 6, 10)
    tokens = to_tokens(vis)
    next_vis, out_vis, text_out = iim(tokens, (6, 10), text, mask)
    assert next_vis.shape == out_vis.shape == tokens.shape == (2, 6 * 10, 8)
    assert text_out is text
    fused = iim.pwam.multimodal(tokens, text, mask)
    # the scale branch runs on the (B, C, h, w) map of the tokens
    scaled = to_tokens(iim.scale_branch(vis))
    expected = tokens + iim.pwam.gate(fused) * fused + iim.scale_gate(scaled) * scaled
    torch.testing.assert_close(out_vis, fused)
    torch.testing.assert_close(next_vis, expected)
    torch.testing.assert_close(to_map(next_vis, (6, 10)), to_map(expected, (6, 10)))
    # the scale branch reads the grid from hw_shape: the transposed map (10 x 6)
    vis_t = vis.transpose(2, 3)
    tokens_t = to_tokens(vis_t)
    next_t, _, _ = iim(tokens_t, (10, 6), text, mask)
    fused_t = iim.pwam.multimodal(tokens_t, text, mask)
    scaled_t = to_tokens(iim.scale_branch(vis_t))
    torch.testing.assert_close(
        next_t, tokens_t + iim.pwam.gate(fused_t) * fused_t + iim.scale_gate(scaled_t) * scaled_t)
    # the gates start small but not at zero (truncated normal, std 0.02)
    assert 0.01 < iim.scale_gate[0].weight.std() < 0.03


def test_without_scale_branch_is_pwam_and_last_stage_builds_only_pwam():
    torch.manual_seed(1)
    vis, text, mask = inputs()
    iim = IIM(8, text_channels=12, with_scale_branch=False).eval()
    pwam = PWAM(8, 12).eval()
    pwam.load_state_dict(iim.pwam.state_dict())
    tokens = to_tokens(vis)
    for a, b in zip(iim(tokens, (6, 10), text, mask), pwam(tokens, (6, 10), text, mask)):
        assert torch.equal(a, b)
    last = IIM(8, text_channels=12, last_stage=True).eval()
    assert last.scale_branch is None and last.scale_gate is None and last.pwam.gate is None
    assert last.last_stage and last.pwam.last_stage
    assert 'last_stage=True' in repr(last)
    assert sum(p.numel() for p in last.parameters()) == \
        sum(p.numel() for p in PWAM(8, 12, last_stage=True).parameters())
    next_vis, out_vis, text_out = last(tokens, (6, 10), text, mask)
    assert torch.equal(next_vis, tokens) and text_out is text
    torch.testing.assert_close(out_vis, last.pwam.multimodal(tokens, text, mask))


def test_in_the_stage_wise_extractor_on_a_non_square_image():
    iim = dict(type='IIM')
    backbone = MODELS.build(dict(
        type='StageWiseExtractor',
        vision=dict(type='SwinTransformer', pretrain_img_size=64, embed_dims=8, depths=[1, 1, 1, 1],
                    num_heads=[1, 1, 2, 2], window_size=4, out_indices=(0, 1, 2, 3)),
        text=dict(type='BertTextEncoder', pretrained=False, stages=(2, ),
                  bert_config=dict(vocab_size=50, hidden_size=16, num_hidden_layers=2,
                                   num_attention_heads=2, intermediate_size=32)),
        fusion=[iim, iim, iim, dict(iim, last_stage=True)])).eval()
    assert [f.scale_branch is not None for f in backbone.fusions] == [True, True, True, False]
    image = torch.randn(1, 3, 64, 96)
    text = dict(input_ids=torch.tensor([[2, 7, 9, 3, 0]]),
                attention_mask=torch.tensor([[1, 1, 1, 1, 0]]))
    outs, _ = backbone(image, text)
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 24), (1, 16, 8, 12), (1, 32, 4, 6),
                                              (1, 64, 2, 3)]
