from .rrsis_visualizer import RRSISLocalVisualizer

__all__ = ['RRSISLocalVisualizer']
