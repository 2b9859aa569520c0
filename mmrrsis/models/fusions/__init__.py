from .pwam import PWAM

__all__ = ['PWAM']
