"""SDPAWindowMSA and the fused PixelWordAttention against their explicit-softmax versions."""
import copy

import torch
from mmseg.models.backbones import SwinTransformer
from mmseg.models.backbones.swin import WindowMSA

from mmrrsis.models.utils import PixelWordAttention
from mmrrsis.models.utils.sdpa_window_msa import SDPAWindowMSA, set_window_attention


def test_swin_on_sdpa_equals_mmseg_swin():
    torch.manual_seed(0)
    swin = SwinTransformer(pretrain_img_size=64, embed_dims=16, depths=(2, 2), num_heads=(1, 2),
                           window_size=4, out_indices=(0, 1), drop_path_rate=0.0,
                           init_cfg=None).double()
    with torch.no_grad():  # a bias that matters (mmseg initialises it at zero)
        for name, param in swin.named_parameters():
            if 'relative_position_bias_table' in name:
                param.normal_()
    fused = copy.deepcopy(swin)
    assert set_window_attention(fused, True) == 4
    assert all(type(m) is SDPAWindowMSA for m in fused.modules() if isinstance(m, WindowMSA))
    assert fused.state_dict().keys() == swin.state_dict().keys()
    # 36 x 44: padded to whole windows, shifted windows with their mask in the odd blocks
    inputs = torch.randn(2, 3, 36, 44, dtype=torch.float64)
    outs, ref = fused(inputs), swin(inputs)
    for out, expected in zip(outs, ref):
        torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(o) for o in ref]
    sum((o * w).sum() for o, w in zip(outs, weights)).backward()
    sum((o * w).sum() for o, w in zip(ref, weights)).backward()
    for (name, param), other in zip(swin.named_parameters(), fused.parameters()):
        torch.testing.assert_close(other.grad, param.grad, rtol=1e-10, atol=1e-12, msg=name)
    assert set_window_attention(fused, False) == 4
    assert all(type(m) is WindowMSA for m in fused.modules() if isinstance(m, WindowMSA))


def test_fused_pixel_word_attention_equals_the_softmax():
    torch.manual_seed(0)
    attn = PixelWordAttention(16, 24, num_heads=2)
    vis, text = torch.randn(3, 30, 16), torch.randn(3, 6, 24)
    mask = torch.ones(3, 6, dtype=torch.long)
    mask[0, 3:] = 0
    mask[2] = 0  # no real token: finite, as the reference's -1e4 keeps it
    fused = attn(vis, text, mask)
    attn.fused = False
    eager = attn(vis, text, mask)
    assert torch.isfinite(fused).all()
    span = float(eager.max() - eager.min())
    assert (fused - eager).abs().max() <= 1e-5 * span
