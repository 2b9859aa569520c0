from .hooks import RRSISVisualizationHook
from .optimizers import CPUAmpOptimWrapper
from .runner import ResumableIterBasedTrainLoop

__all__ = ['CPUAmpOptimWrapper', 'RRSISVisualizationHook', 'ResumableIterBasedTrainLoop']
