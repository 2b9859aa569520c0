"""--amp and the distributed backend adapt to the machine (GPU or not)."""
import pytest
import torch
from mmengine.config import Config

from mmrrsis.utils import adapt_cfg_to_machine


def cfg(wrapper='OptimWrapper', **extra):
    return Config(dict(
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
        optim_wrapper=dict(type=wrapper, optimizer=dict(type='AdamW', lr=1e-4), **extra)))


def test_amp_on_cpu_is_bf16_autocast_without_loss_scale(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    out = adapt_cfg_to_machine(cfg(), amp=True)
    assert out.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert out.optim_wrapper.dtype == 'bfloat16' and 'loss_scale' not in out.optim_wrapper
    assert out.env_cfg.dist_cfg.backend == 'gloo'
    # a GPU config that asks for AmpOptimWrapper itself still runs on a CPU
    out = adapt_cfg_to_machine(cfg('AmpOptimWrapper', loss_scale='dynamic'))
    assert out.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert 'loss_scale' not in out.optim_wrapper


def test_amp_on_cuda_is_fp16_with_dynamic_loss_scale(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    out = adapt_cfg_to_machine(cfg(), amp=True)
    assert out.optim_wrapper.type == 'AmpOptimWrapper'
    assert out.optim_wrapper.loss_scale == 'dynamic'
    assert out.env_cfg.dist_cfg.backend == 'nccl'


def test_without_amp_the_wrapper_is_untouched(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert adapt_cfg_to_machine(cfg(), amp=False).optim_wrapper.type == 'OptimWrapper'
    with pytest.raises(ValueError, match='OptimWrapper'):
        adapt_cfg_to_machine(cfg('ApexOptimWrapper'), amp=True)
