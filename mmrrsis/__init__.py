"""mmrrsis: referring remote-sensing image segmentation on MMSegmentation."""
from .compat import apply_compat

apply_compat()

from .version import __version__  # noqa: E402

__all__ = ['__version__']
