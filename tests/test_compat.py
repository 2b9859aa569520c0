"""The compatibility layer: mmcv._ext stand-in and safe checkpoint loading."""
import importlib.machinery
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from mmrrsis import compat


def test_stub_installed_on_mmcv_lite_and_names_the_op():
    code = (
        'import mmrrsis, sys\n'
        'from mmrrsis.compat import mmcv_ext_is_stub\n'
        'import mmcv.ops, torch\n'
        'print("stub", mmcv_ext_is_stub())\n'
        'try:\n'
        '    mmcv.ops.nms(torch.rand(3, 4), torch.rand(3), 0.5)\n'
        'except RuntimeError as e:\n'
        '    print("error", e)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    try:
        import mmcv._ext  # noqa: F401
        real_ext = not compat.mmcv_ext_is_stub()
    except ImportError:
        real_ext = False
    if real_ext:
        assert lines[0] == 'stub False'
        return
    assert lines[0] == 'stub True'
    assert lines[1].startswith('error mmcv op "nms"')
    assert 'full mmcv' in lines[1] and 'mmcv-lite' in lines[1]


def test_stub_not_installed_when_compiled_extension_exists(monkeypatch):
    real = types.ModuleType('mmcv._ext')
    monkeypatch.delitem(sys.modules, 'mmcv._ext', raising=False)
    monkeypatch.setattr(compat.importlib.util, 'find_spec',
                        lambda name: importlib.machinery.ModuleSpec(name, None))
    compat._install_mmcv_ext_stub()
    assert 'mmcv._ext' not in sys.modules  # left for the real import to find
    monkeypatch.setitem(sys.modules, 'mmcv._ext', real)
    compat._install_mmcv_ext_stub()
    assert sys.modules['mmcv._ext'] is real
    assert not compat.mmcv_ext_is_stub()


def test_stub_dunder_lookups_raise_attribute_error():
    stub = compat._MissingExtModule('mmcv._ext')
    with pytest.raises(AttributeError):
        stub.__wrapped__  # noqa: B018
    with pytest.raises(RuntimeError, match='roi_align'):
        stub.roi_align_forward()


def test_mmengine_message_hub_checkpoint_loads_with_weights_only(tmp_path):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', np.int64(3))
    ckpt = dict(
        meta=dict(epoch=1, seed=np.int64(7), hook_msgs=dict(best=np.float32(1.5))),
        message_hub=hub.state_dict(),
        state_dict=dict(w=torch.ones(2)),
        arr=np.arange(3))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['seed'] == 7
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 0.25
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    np.testing.assert_array_equal(loaded['arr'], np.arange(3))


class _Untrusted:
    def __reduce__(self):
        return (print, ('this must never run',))


def test_unlisted_pickled_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Untrusted()}, path)
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        torch.load(path, weights_only=True)
