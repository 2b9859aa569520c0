"""Makes the OpenMMLab stack usable on a pure-Python install; applied on ``import mmrrsis``.

Three gaps are closed, and only when they exist:

* ``mmcv._ext`` -- mmsegmentation 1.2.2 imports ``mmcv.ops`` at import time, which loads the
  compiled extension. With ``mmcv-lite`` that extension is absent, so a stand-in module is
  registered whose attributes raise a clear error when a compiled op is actually called.
  With a full mmcv build the real extension is found first and nothing is patched.
* ``torch.load(weights_only=True)`` -- the default since torch 2.6. mmengine checkpoints store a
  ``HistoryBuffer`` and numpy scalars in their message hub, which the safe unpickler refuses.
  Exactly those globals are allow-listed; safe loading stays on.
* Safe loading everywhere, with a clear refusal -- mmengine 0.10.7 loads URL checkpoints
  (``load_from``/``init_cfg`` with http(s)://, torchvision://, open-mmlab://) through
  ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to False; its local
  loader relies on torch's default. Both now load with ``weights_only=True``, and a file holding
  objects outside the allow-list is refused by an :class:`UnsafeCheckpointError` that names the
  file and says how to convert a trusted checkpoint, instead of torch's long message.
"""
import importlib.machinery
import importlib.util
import os.path as osp
import pickle
import re
import sys
import types

__all__ = [
    'MISSING_OP_HINT', 'UnsafeCheckpointError', 'apply_compat', 'mmcv_ext_is_stub',
    'safe_checkpoint_globals'
]

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


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects that safe loading (``weights_only=True``) refuses."""


CONVERT_CHECKPOINT_HINT = (
    'If you trust the file, convert it once to plain tensors and load the converted file:\n'
    '    python -c "import torch; c = torch.load(\'old.pth\', weights_only=False); '
    'torch.save({\'state_dict\': c.get(\'state_dict\', c)}, \'clean.pth\')"')


def _refuse_clearly(source: str, load):
    """Calls ``load()``; turns torch's safe-unpickling failure into an UnsafeCheckpointError."""
    try:
        return load()
    except UnsafeCheckpointError:
        raise
    except pickle.UnpicklingError as e:
        found = (re.search(r'Unsupported global: GLOBAL (\S+)', str(e))
                 or re.search(r'WeightsUnpickler error: ([^\n]+)', str(e)))
        what = f' (first refused: {found.group(1)})' if found else ''
        raise UnsafeCheckpointError(
            f'checkpoint {source} contains pickled objects that are not on the safe-loading '
            f'allow-list{what}; mmrrsis loads checkpoints with torch.load(weights_only=True) '
            'because unpickling arbitrary objects can run code. ' + CONVERT_CHECKPOINT_HINT
        ) from None


def _install_safe_checkpoint_loaders():
    from mmengine.runner import checkpoint as mmengine_checkpoint
    if getattr(mmengine_checkpoint, '_mmrrsis_safe_loading', False):
        return
    import torch

    def load_from_local(filename, map_location=None):
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'checkpoint {filename} can not be found.')
        return _refuse_clearly(
            filename, lambda: torch.load(filename, map_location=map_location, weights_only=True))

    url_loader = mmengine_checkpoint.load_url

    def load_url(url, *args, **kwargs):
        kwargs['weights_only'] = True
        return _refuse_clearly(url, lambda: url_loader(url, *args, **kwargs))

    # The local scheme is the fallback of every path; load_from_http and the model-zoo schemes
    # call the module-level load_url.
    mmengine_checkpoint.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                                         force=True)
    mmengine_checkpoint.load_url = load_url
    mmengine_checkpoint._mmrrsis_safe_loading = True


def apply_compat():
    """Applies the three fixes; safe to call more than once."""
    _install_mmcv_ext_stub()
    _allow_mmengine_checkpoints()
    _install_safe_checkpoint_loaders()
