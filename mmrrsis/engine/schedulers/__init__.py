from .lambda_poly_lr import LambdaPolyLR

__all__ = ['LambdaPolyLR']
