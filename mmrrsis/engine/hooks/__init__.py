from .rrsis_visualization_hook import RRSISVisualizationHook

__all__ = ['RRSISVisualizationHook']
