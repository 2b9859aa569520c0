from .fiam import FIAM
from .text_decoupler import FIANetTextDecoupler
from .tmem import TMEM

__all__ = ['FIAM', 'FIANetTextDecoupler', 'TMEM']
