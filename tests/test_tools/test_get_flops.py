"""mmrrsis.analysis.flops (what tools/analysis/get_flops.py prints): per-component counts add
up and agree with a bare Swin's."""
import os.path as osp

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

from mmrrsis.analysis import COMPONENTS, analyse, conv_mode_flop_jit, sdpa_flop_jit

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_components_add_up_and_vision_matches_the_bare_swin():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic.py'))
    result = analyse(cfg, shape=(32, 64))
    flops, params = result['flops'], result['params']
    assert result['shape'] == (32, 64)
    assert sum(flops[k] for k in COMPONENTS) == flops['total']
    assert sum(params[k] for k in COMPONENTS) == params['total']
    assert all(flops[k] > 0 for k in ('vision', 'text', 'fusion', 'heads'))
    assert flops['neck'] == 0 and params['neck'] == 0

    from mmrrsis.registry import MODELS
    swin = MODELS.build(cfg.model.backbone.vision)
    swin.eval()  # mmseg's SwinTransformer.train returns None: do not chain
    with torch.no_grad():
        bare = FlopAnalyzer(swin, torch.zeros(1, 3, 32, 64))
        bare.unsupported_ops_warnings(False)
        assert bare.total() == flops['vision']
    assert params['vision'] == sum(p.numel() for p in swin.parameters())

    # built and traced in bfloat16 (half the memory): the same counts
    half = analyse(cfg, shape=(32, 64), dtype=torch.bfloat16)
    assert half['flops'] == flops and half['params'] == params


def test_sdpa_rule_counts_both_products():

    class Attend(torch.nn.Module):

        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    q, k, v = torch.zeros(2, 3, 5, 8), torch.zeros(2, 3, 7, 8), torch.zeros(2, 3, 7, 4)
    analyzer = FlopAnalyzer(Attend(), (q, k, v))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    assert analyzer.total() == 2 * 3 * 5 * 7 * (8 + 4)


def test_string_padding_conv_counts_as_a_conv():
    """SigLIP's patch embedding pads with 'valid': aten::_convolution_mode, not _convolution."""
    conv = torch.nn.Conv2d(3, 8, 4, stride=4, padding='valid', groups=1)
    same = torch.nn.Conv2d(8, 6, 3, padding='same', groups=2)
    image = torch.zeros(2, 3, 16, 12)
    counts = []
    for padding in ('valid', 0):
        conv.padding = padding
        analyzer = FlopAnalyzer(conv, image)
        analyzer.set_op_handle('aten::_convolution_mode', conv_mode_flop_jit)
        counts.append(analyzer.total())
    assert counts[0] == counts[1] == 2 * 8 * 4 * 3 * (3 * 4 * 4)
    analyzer = FlopAnalyzer(same, torch.zeros(1, 8, 5, 7))
    analyzer.set_op_handle('aten::_convolution_mode', conv_mode_flop_jit)
    assert analyzer.total() == 6 * 5 * 7 * (4 * 3 * 3)
