"""Activation checkpointing and fused attention of the extractors: same numbers either way."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.models.backbones.swin import WindowMSA

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.models.utils import PixelWordAttention
from mmrrsis.models.utils.sdpa_window_msa import SDPAWindowMSA
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
EXPRESSIONS = ['the red vehicle at the top left', 'the large blue building on the right']
CONFIGS = ('configs/lavt/lavt_tiny_synthetic.py', 'configs/btdnet/btdnet_tiny_synthetic.py')


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    return build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)


def model_cfg(config, vocab, **backbone):
    cfg = Config.fromfile(osp.join(REPO, config)).model
    cfg.data_preprocessor.tokenizer = vocab
    cfg.backbone.update(backbone)
    return cfg


def losses_and_grads(model, data):
    """Losses and gradients of one training step; the seed fixes dropout and drop path."""
    model.train()
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    inputs = data['inputs'].to(next(model.parameters()).dtype)
    losses = model.loss(inputs, copy.deepcopy(data['data_samples']))
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('config', CONFIGS)
def test_checkpointing_gives_the_same_gradients(config, vocab, train_batch):
    cfg = model_cfg(config, vocab)
    # drop path on, so that recomputation must replay the random draws exactly
    cfg.backbone.vision.drop_path_rate = 0.2
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    cp_cfg = copy.deepcopy(cfg)
    cp_cfg.backbone.with_cp = True
    torch.manual_seed(0)
    cp_model = MODELS.build(cp_cfg)
    cp_model.load_state_dict(plain.state_dict())
    # in float64, where a different kernel choice in the recomputation is invisible
    plain.double()
    cp_model.double()
    assert all(b.with_cp for b in cp_model.backbone.vision.stages[0].blocks)
    assert cp_model.backbone.text.with_cp
    data = train_batch(plain)
    loss, grads = losses_and_grads(plain, data)
    cp_loss, cp_grads = losses_and_grads(cp_model, data)
    torch.testing.assert_close(cp_loss, loss, rtol=1e-12, atol=1e-12)
    assert set(cp_grads) == set(grads)
    for name, grad in grads.items():
        # 1e-15 absolute: gradients that are zero in exact arithmetic (BERT's key bias)
        assert (cp_grads[name] - grad).abs().max() <= 1e-10 * grad.abs().max() + 1e-15, name


@pytest.mark.parametrize('config', CONFIGS)
def test_fused_attention_equals_the_eager_path(config, vocab, train_batch):
    torch.manual_seed(0)
    fused = MODELS.build(model_cfg(config, vocab))
    eager = MODELS.build(model_cfg(config, vocab, fused_attention=False))
    eager.load_state_dict(fused.state_dict())
    backbone = fused.backbone
    assert all(type(m) is SDPAWindowMSA for m in backbone.modules() if isinstance(m, WindowMSA))
    assert all(type(m) is WindowMSA for m in eager.modules() if isinstance(m, WindowMSA))
    assert backbone.text.attn_implementation == 'sdpa'
    assert eager.backbone.text.attn_implementation == 'eager'
    pwa = [m for m in backbone.fusions.modules() if isinstance(m, PixelWordAttention)]
    assert len(pwa) == (4 if 'lavt' in config else 0)
    assert all(m.fused for m in pwa)
    assert not any(m.fused for m in eager.modules() if isinstance(m, PixelWordAttention))
    data = train_batch(fused)
    for model in (fused, eager):
        model.eval()
    with torch.no_grad():
        out = fused.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        ref = eager.predict(data['inputs'], copy.deepcopy(data['data_samples']))
    for a, b in zip(out, ref):
        span = float(b.seg_logits.data.max() - b.seg_logits.data.min())
        assert (a.seg_logits.data - b.seg_logits.data).abs().max() <= 1e-5 * span
    # the same maths: in float64 the gradients agree to float64 precision
    loss, grads = losses_and_grads(fused.double(), data)
    ref_loss, ref_grads = losses_and_grads(eager.double(), data)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    for name, grad in ref_grads.items():
        assert (grads[name] - grad).abs().max() <= 1e-10 * grad.abs().max() + 1e-15, name
