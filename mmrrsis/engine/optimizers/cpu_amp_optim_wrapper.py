"""Mixed-precision training on a CPU: mmengine's ``OptimWrapper`` under bfloat16 autocast."""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmrrsis.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """The CPU counterpart of mmengine's ``AmpOptimWrapper``: bfloat16 autocast, no loss scale.

    mmengine 0.10.7's ``AmpOptimWrapper`` cannot be built without CUDA, NPU, MLU or MUSA (it
    asserts one is present, for its ``GradScaler``). CPU autocast computes in bfloat16, whose
    exponent range is float32's, so small gradients do not underflow as in float16 and no loss
    scaling is needed: this wrapper only runs the forward pass and the losses under
    ``torch.autocast('cpu', dtype=torch.bfloat16)``. Parameters, gradients and the optimizer
    state stay float32. ``tools/train.py --amp`` selects it when no GPU is visible.

    Args:
        dtype (str | torch.dtype): Autocast dtype; CPU autocast is used with bfloat16 only.
            Defaults to 'bfloat16'.
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        cast_dtype = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
        if cast_dtype != torch.bfloat16:
            raise ValueError(f'CPUAmpOptimWrapper: dtype must be bfloat16 (the CPU autocast '
                             f'type that needs no loss scale), got {dtype!r}')
        self.cast_dtype = cast_dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus CPU bfloat16 autocast."""
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
