"""CPU mixed precision: the forward runs under bfloat16 autocast, parameters stay float32."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmrrsis.engine import CPUAmpOptimWrapper


def test_forward_runs_under_bf16_autocast_and_steps():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    wrapper = build_optim_wrapper(
        model, dict(type='CPUAmpOptimWrapper', dtype='bfloat16',
                    optimizer=dict(type='SGD', lr=0.1)))
    assert isinstance(wrapper, CPUAmpOptimWrapper)
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')
    wrapper.update_params(out.float().square().mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)
    assert model.weight.grad is None  # zero_grad after the step


def test_refuses_float16():
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match='bfloat16'):
        CPUAmpOptimWrapper(dtype='float16', optimizer=optimizer)
