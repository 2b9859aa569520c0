from .metrics import RRSISMetric

__all__ = ['RRSISMetric']
