"""Config adjustments shared by tools/train.py and tools/test.py."""
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def adapt_cfg_to_machine(cfg: Config, amp: bool = False) -> Config:
    """Makes a GPU-oriented config run where it is launched.

    * No GPU: the distributed backend becomes 'gloo' (NCCL needs CUDA).
    * ``amp``: mixed precision through mmengine's ``AmpOptimWrapper`` -- float16 with a
      dynamic loss scale on CUDA, bfloat16 autocast (no loss scale needed) on a CPU.

    Args:
        cfg (Config): The loaded config; modified in place.
        amp (bool): Whether ``--amp`` was given. Defaults to False.

    Returns:
        Config: The same config.
    """
    cuda = torch.cuda.is_available()
    if not cuda and cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend') == 'nccl':
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    if amp and 'optim_wrapper' in cfg:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        elif wrapper != 'OptimWrapper':
            raise ValueError(f'--amp needs optim_wrapper type OptimWrapper, got {wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            if cuda:
                cfg.optim_wrapper.loss_scale = 'dynamic'
            else:
                cfg.optim_wrapper.dtype = 'bfloat16'
                print_log('--amp on CPU: bfloat16 autocast (float16 is not supported on CPU).',
                          logger='current')
    return cfg
