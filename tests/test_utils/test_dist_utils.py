"""setup_cpu_distributed: CPU-only multi-process settings (the process group is covered by
tests/test_tools/test_dist_test.py)."""
import pytest
import torch
from mmengine.config import Config

from mmrrsis.utils.dist_utils import setup_cpu_distributed

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')


def test_no_launcher_changes_nothing():
    cfg = setup_cpu_distributed(Config(dict(launcher='none')))
    assert 'model_wrapper_cfg' not in cfg


def test_ddp_wrapper_gets_no_device_ids():
    cfg = setup_cpu_distributed(Config(dict(launcher='slurm', find_unused_parameters=True)))
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False, find_unused_parameters=True)
    own = Config(dict(launcher='mpi', model_wrapper_cfg=dict(type='MyWrapper', device_ids=[0])))
    assert setup_cpu_distributed(own).model_wrapper_cfg.device_ids == [0]  # left as configured
