"""Tiny BTDNet under CPU bfloat16 autocast (what ``tools/train.py --amp`` runs without a GPU)."""
import copy

import torch

from mmrrsis.models.fusions import BSC
from mmrrsis.registry import MODELS

EXPRESSIONS = ['the red vehicle at the top left', 'the large blue building on the right']


def build_open_model(tiny_btdnet_cfg):
    """Tiny BTDNet with the BSC gates opened, so the fusion's numerics reach the losses."""
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(tiny_btdnet_cfg))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, BSC):
                module.gate_v[1].weight.fill_(1.0)
                module.gate_l_norm.weight.fill_(1.0)
    return model


def losses_and_grads(model, data, autocast):
    model.zero_grad(set_to_none=True)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        losses = model.loss(data['inputs'], data['data_samples'])
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach().float() for k, v in losses.items()}, grads


def test_bf16_autocast_losses_and_grads_are_finite_and_close(tiny_btdnet_cfg, train_batch):
    model = build_open_model(tiny_btdnet_cfg).train()
    data = train_batch(model)
    ref_losses, ref_grads = losses_and_grads(model, data, autocast=False)
    losses, grads = losses_and_grads(model, data, autocast=True)
    assert set(losses) == {'decode.loss_fg', 'decode.loss_bg', 'decode.acc_seg', 'aux.loss_rec'}
    for key, value in losses.items():
        assert torch.isfinite(value), key
        if 'loss' in key:
            # bfloat16 keeps 8 bits of mantissa: same losses to a few percent
            torch.testing.assert_close(value, ref_losses[key], rtol=0.05, atol=0.02)
    assert set(grads) == set(ref_grads)
    for name, grad in grads.items():
        assert grad.dtype == torch.float32, name  # parameters and grads stay float32
        assert torch.isfinite(grad).all(), name
    # the fusion and the decoder are trained under autocast, not bypassed
    for prefix in ('backbone.fusions.0.vis_windows', 'backbone.fusions.3.gate_l_fc',
                   'decode_head.mci_layers.0.ms_attn', 'auxiliary_head.visual_step'):
        assert any(name.startswith(prefix) and grads[name].abs().sum() > 0 for name in grads), \
            prefix


def test_bsc_softmax_survives_bf16_extremes():
    """Large affinities and padded tokens: the float32 softmax keeps BSC finite in bf16."""
    torch.manual_seed(0)
    bsc = BSC(16, 24, embed_dims=8)
    with torch.no_grad():
        bsc.gate_v[1].weight.fill_(1.0)
        bsc.gate_l_norm.weight.fill_(1.0)
    vis = 30 * torch.randn(2, 16, 6, 7)
    text = 30 * torch.randn(2, 5, 24)
    mask = torch.ones(2, 5, dtype=torch.long)
    mask[0, 2:] = 0
    vis.requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # the fusion interface: (B, h*w, C) row-major tokens on a (6, 7) grid
        next_vis, vis_out, text_out = bsc(vis.flatten(2).transpose(1, 2), (6, 7), text, mask)
    assert vis_out.shape == next_vis.shape == (2, 6 * 7, 16)
    assert torch.isfinite(next_vis).all()
    assert torch.isfinite(vis_out).all() and torch.isfinite(text_out).all()
    (vis_out.float().square().mean() + text_out.float().square().mean()).backward()
    assert torch.isfinite(vis.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in bsc.parameters() if p.grad is not None)
