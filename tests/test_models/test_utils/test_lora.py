"""add_lora wraps exactly the modules its regex names; merge_lora folds them back unchanged."""
import pytest
import torch
from torch import nn

from mmrrsis.models.utils import add_lora, load_base_weights, lora_layers, merge_lora


class Block(nn.Module):

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)
        self.conv = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        y = self.proj(self.qkv(x)[..., :8])
        return self.conv(y.transpose(1, 2)[..., None])[..., 0].transpose(1, 2)


def _model():
    torch.manual_seed(0)
    return nn.ModuleDict(dict(blocks=nn.ModuleList([Block(), Block()]), head=nn.Linear(8, 2)))


def _run(model, x):
    for block in model['blocks']:
        x = block(x)
    return model['head'](x)


def test_only_targets_get_adapters_and_merge_is_exact():
    model = _model()
    plain = {k: v.clone() for k, v in model.state_dict().items()}
    names = add_lora(model, r'blocks\.\d+\.(qkv|conv)', r=4, alpha=8)
    assert names == ['blocks.0.qkv', 'blocks.0.conv', 'blocks.1.qkv', 'blocks.1.conv']
    assert sorted(lora_layers(model)) == sorted(names)
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert trainable == sorted(f'{n}.lora_{ab}.default.weight' for n in names for ab in 'AB')
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        torch.testing.assert_close(_run(model, x), _run(_model(), x), rtol=0, atol=1e-6)  # B = 0
        for layer in lora_layers(model).values():
            layer.lora_B['default'].weight.normal_()
        adapted = _run(model, x)
        assert not torch.allclose(adapted, _run(_model(), x))
        merge_lora(model)
        torch.testing.assert_close(_run(model, x), adapted, rtol=1e-5, atol=1e-5)
    assert not lora_layers(model)
    assert sorted(model.state_dict()) == sorted(plain)
    assert isinstance(model['blocks'][0].conv, nn.Conv2d)


def test_load_base_weights_into_wrapped_layers():
    source = _model()
    model = nn.ModuleDict(dict(blocks=nn.ModuleList([Block(), Block()]), head=nn.Linear(8, 2)))
    add_lora(model, r'blocks\.\d+\.proj', r=2)
    load_base_weights(model, source.state_dict(), 'source')
    x = torch.randn(1, 3, 8)
    with torch.no_grad():
        torch.testing.assert_close(_run(model, x), _run(source, x))
    with pytest.raises(KeyError, match=r"missing \['head.bias'\]"):
        load_base_weights(model, {k: v for k, v in source.state_dict().items()
                                  if k != 'head.bias'}, 'source')
    with pytest.raises(ValueError, match='matches no sub-module'):
        add_lora(model, r'nothing\.here')
