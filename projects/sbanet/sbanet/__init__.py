from .bam import BAM
from .dfs import DFS
from .tsca import TSCA

__all__ = ['BAM', 'DFS', 'TSCA']
