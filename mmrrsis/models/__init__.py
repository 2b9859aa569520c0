from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .fusions import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .text_encoders import *  # noqa: F401,F403
from .backbones import __all__ as _backbone_all
from .data_preprocessors import __all__ as _dp_all
from .decode_heads import __all__ as _head_all
from .fusions import __all__ as _fusion_all
from .losses import __all__ as _loss_all
from .segmentors import __all__ as _seg_all
from .text_encoders import __all__ as _text_all

__all__ = _backbone_all + _dp_all + _head_all + _fusion_all + _loss_all + _seg_all + _text_all
