"""Makes the OpenMMLab stack usable on a pure-Python install; applied on ``import mmrrsis``.

Two gaps are closed, and only when they exist:

* ``mmcv._ext`` -- mmsegmentation 1.2.2 imports ``mmcv.ops`` at import time, which loads the
  compiled extension. With ``mmcv-lite`` that extension is absent, so a stand-in module is
  registered whose attributes raise a clear error when a compiled op is actually called.
  With a full mmcv build the real extension is found first and nothing is patched.
* ``torch.load(weights_only=True)`` -- the default since torch 2.6. mmengine checkpoints store a
  ``HistoryBuffer`` and numpy scalars in their message hub, which the safe unpickler refuses.
  Exactly those globals are allow-listed; safe loading stays on.
"""
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ['MISSING_OP_HINT', 'apply_compat', 'mmcv_ext_is_stub', 'safe_checkpoint_globals']

MISSING_OP_HINT = (
    'mmcv op "{name}" needs the compiled mmcv extension, but only mmcv-lite is installed. '
    'Install a full mmcv 2.0-2.1 build matching your torch/CUDA (see '
    'https://mmcv.readthedocs.io/en/latest/get_started/installation.html), e.g. '
    '`pip uninstall -y mmcv-lite && mim install "mmcv>=2.0.0,<2.2.0"`.')


class _MissingExtModule(types.ModuleType):
    """Stand-in for ``mmcv._ext`` whose every op raises an explanatory error when called."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)

        def missing_op(*args, **kwargs):
            raise RuntimeError(MISSING_OP_HINT.format(name=name))

        missing_op.__name__ = name
        return missing_op


def _install_mmcv_ext_stub():
    if 'mmcv._ext' in sys.modules:
        return
    try:
        spec = importlib.util.find_spec('mmcv._ext')
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        return  # a full mmcv build: the real compiled extension will be used
    stub = _MissingExtModule('mmcv._ext', 'Stand-in installed by mmrrsis.compat (mmcv-lite).')
    stub.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
    stub._mmrrsis_stub = True
    sys.modules['mmcv._ext'] = stub


def mmcv_ext_is_stub():
    """Returns True when ``mmcv._ext`` is the mmrrsis stand-in (mmcv-lite install)."""
    return getattr(sys.modules.get('mmcv._ext'), '_mmrrsis_stub', False)


def safe_checkpoint_globals():
    """Lists the non-tensor classes mmengine writes into checkpoints.

    Returns:
        list: classes and functions to allow-list for ``torch.load(weights_only=True)``.
    """
    import codecs

    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    # HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    # Allowing ``getattr`` lets the loader look attributes up on objects it already accepted;
    # it still refuses to *call* anything outside the allow-list.
    allowed = [HistoryBuffer, getattr, np.ndarray, np.dtype]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    # numpy arrays pickle their raw bytes through ``_codecs.encode``.
    allowed += [scalar, _reconstruct, codecs.encode]
    # numpy >= 1.25 pickles dtypes by their concrete class (np.dtypes.Float64DType, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


def _allow_mmengine_checkpoints():
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(safe_checkpoint_globals())


def apply_compat():
    """Applies both fixes; safe to call more than once."""
    _install_mmcv_ext_stub()
    _allow_mmengine_checkpoints()
