"""RMSIN's intra-scale interaction: the IIM fusion and its scale branch, on non-square maps."""
import torch
import torch.nn.functional as F

from mmrrsis.models.fusions import PWAM
from mmrrsis.registry import MODELS
from projects.rmsin.rmsin import IIM, ScaleBranch


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
    next_vis, out_vis, text_out = iim(vis, text, mask)
    assert next_vis.shape == out_vis.shape == vis.shape == (2, 8, 6, 10)
    assert text_out is text
    tokens = vis.flatten(2).transpose(1, 2)
    fused = iim.pwam.multimodal(tokens, text, mask)
    scaled = iim.scale_branch(vis).flatten(2).transpose(1, 2)
    expected = tokens + iim.pwam.gate(fused) * fused + iim.scale_gate(scaled) * scaled
    torch.testing.assert_close(out_vis, fused.transpose(1, 2).reshape(vis.shape))
    torch.testing.assert_close(next_vis, expected.transpose(1, 2).reshape(vis.shape))
    # the gates start small but not at zero (truncated normal, std 0.02)
    assert 0.01 < iim.scale_gate[0].weight.std() < 0.03


def test_without_scale_branch_is_pwam_and_last_stage_builds_only_pwam():
    torch.manual_seed(1)
    vis, text, mask = inputs()
    iim = IIM(8, text_channels=12, with_scale_branch=False).eval()
    pwam = PWAM(8, 12).eval()
    pwam.load_state_dict(iim.pwam.state_dict())
    for a, b in zip(iim(vis, text, mask), pwam(vis, text, mask)):
        assert torch.equal(a, b)
    last = IIM(8, text_channels=12, output_only=True).eval()
    assert last.scale_branch is None and last.scale_gate is None and last.pwam.gate is None
    assert sum(p.numel() for p in last.parameters()) == \
        sum(p.numel() for p in PWAM(8, 12, with_gate=False).parameters())
    next_vis, out_vis, _ = last(vis, text, mask)
    assert torch.equal(next_vis, vis)
    torch.testing.assert_close(
        out_vis, last.pwam.multimodal(vis.flatten(2).transpose(1, 2), text, mask)
        .transpose(1, 2).reshape(vis.shape))


def test_in_the_stage_wise_extractor_on_a_non_square_image():
    iim = dict(type='IIM')
    backbone = MODELS.build(dict(
        type='StageWiseExtractor',
        vision=dict(type='SwinTransformer', pretrain_img_size=64, embed_dims=8, depths=[1, 1, 1, 1],
                    num_heads=[1, 1, 2, 2], window_size=4, out_indices=(0, 1, 2, 3)),
        text=dict(type='BertTextEncoder', pretrained=False, stages=(2, ),
                  bert_config=dict(vocab_size=50, hidden_size=16, num_hidden_layers=2,
                                   num_attention_heads=2, intermediate_size=32)),
        fusion=[iim, iim, iim, dict(iim, output_only=True)])).eval()
    assert [f.scale_branch is not None for f in backbone.fusions] == [True, True, True, False]
    image = torch.randn(1, 3, 64, 96)
    text = dict(input_ids=torch.tensor([[2, 7, 9, 3, 0]]),
                attention_mask=torch.tensor([[1, 1, 1, 1, 0]]))
    outs, _ = backbone(image, text)
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 24), (1, 16, 8, 12), (1, 32, 4, 6),
                                              (1, 64, 2, 3)]
