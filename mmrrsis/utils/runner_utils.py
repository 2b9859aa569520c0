"""Config adjustments shared by tools/train.py and tools/test.py."""
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .dist_utils import setup_cpu_distributed


def adapt_cfg_to_machine(cfg: Config, amp: bool = False) -> Config:
    """Makes a GPU-oriented config run where it is launched.

    * No GPU: the distributed backend becomes 'gloo' (NCCL needs CUDA), and launcher-started
      runs are set up by :func:`mmrrsis.utils.dist_utils.setup_cpu_distributed`.
    * ``amp``: mixed precision -- mmengine's ``AmpOptimWrapper`` (float16, dynamic loss
      scale) on CUDA; on a CPU :class:`mmrrsis.engine.CPUAmpOptimWrapper` (bfloat16 autocast,
      no loss scale), since mmengine's wrapper cannot be built without an accelerator. A
      config that already asks for ``AmpOptimWrapper`` is switched likewise on a CPU.

    Args:
        cfg (Config): The loaded config; modified in place.
        amp (bool): Whether ``--amp`` was given. Defaults to False.

    Returns:
        Config: The same config.
    """
    cuda = torch.cuda.is_available()
    if not cuda and cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend') == 'nccl':
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    setup_cpu_distributed(cfg)
    if 'optim_wrapper' not in cfg:
        return cfg
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if amp:
        if wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        elif wrapper != 'OptimWrapper':
            raise ValueError(f'--amp needs optim_wrapper type OptimWrapper, got {wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            if cuda:
                cfg.optim_wrapper.loss_scale = 'dynamic'
    if not cuda and cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
        cfg.optim_wrapper.dtype = 'bfloat16'
        print_log('No GPU: mixed precision runs as CPUAmpOptimWrapper, bfloat16 autocast '
                  'without loss scale (float16 is not supported on CPU, and mmengine\'s '
                  'AmpOptimWrapper needs an accelerator).', logger='current')
    return cfg
