from .hooks import RRSISVisualizationHook
from .optimizers import CPUAmpOptimWrapper
from .runner import ResumableIterBasedTrainLoop
from .schedulers import LambdaPolyLR

__all__ = [
    'CPUAmpOptimWrapper', 'LambdaPolyLR', 'RRSISVisualizationHook', 'ResumableIterBasedTrainLoop'
]
