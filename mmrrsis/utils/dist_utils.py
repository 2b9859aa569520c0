"""Multi-process runs on machines without CUDA (torchrun + gloo on CPUs)."""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> Config:
    """Lets a launcher-started run (``--launcher pytorch``) work on CPUs only.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` before creating the
    process group, which fails without CUDA, and its DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU module. Without CUDA this joins
    the torchrun process group (env:// rendezvous, the config's backend, normally 'gloo')
    itself -- the runner then finds it ready -- and sets ``model_wrapper_cfg.device_ids`` to
    None. With CUDA, or without a launcher, nothing changes.

    Args:
        cfg (Config): The loaded config with ``launcher`` set; modified in place.

    Returns:
        Config: The same config.
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return cfg
    if cfg.launcher == 'pytorch' and not torch_dist.is_initialized():
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        kwargs = {}
        if dist_cfg.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(backend=dist_cfg.get('backend', 'gloo'), **kwargs)
    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_cfg.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper_cfg
    return cfg
