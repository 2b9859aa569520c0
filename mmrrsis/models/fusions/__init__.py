from .bsc import BSC
from .pwam import PWAM

__all__ = ['BSC', 'PWAM']
