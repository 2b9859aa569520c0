from .runner_utils import adapt_cfg_to_machine
from .set_env import register_all_modules

__all__ = ['adapt_cfg_to_machine', 'register_all_modules']
