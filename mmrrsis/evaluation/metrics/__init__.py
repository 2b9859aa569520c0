from .rrsis_metric import RRSISMetric

__all__ = ['RRSISMetric']
