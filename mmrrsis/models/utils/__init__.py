from .text_utils import coord_grid, masked_mean

__all__ = ['coord_grid', 'masked_mean']
