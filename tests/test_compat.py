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


class _WritesMarker:
    """Unpickling this would create a file: proof that the payload never ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture
def unsafe_checkpoint(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'old_style.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'x': _WritesMarker(marker)}}, path)
    return path, marker


def _assert_clear_refusal(message, source):
    assert f'checkpoint {source} contains pickled objects' in message
    assert 'allow-list' in message and 'first refused: io.open' in message
    assert ("python -c \"import torch; c = torch.load('old.pth', weights_only=False); "
            "torch.save({'state_dict': c.get('state_dict', c)}, 'clean.pth')\"") in message


def test_mmengine_load_checkpoint_refuses_unlisted_objects_clearly(unsafe_checkpoint):
    from mmengine.runner import load_checkpoint
    path, marker = unsafe_checkpoint
    with pytest.raises(compat.UnsafeCheckpointError) as err:
        load_checkpoint(torch.nn.Linear(2, 1), str(path))
    assert isinstance(err.value, pickle.UnpicklingError)  # existing handlers still catch it
    _assert_clear_refusal(str(err.value), path)
    assert not marker.exists()


def test_url_checkpoints_load_safely(unsafe_checkpoint, tmp_path):
    # mmengine loads http(s)/model-zoo checkpoints through torch.hub, whose weights_only
    # defaults to False; compat forces True (file:// URLs take the same download path).
    from mmengine.runner import checkpoint as mmengine_checkpoint
    path, marker = unsafe_checkpoint
    url = path.as_uri()
    with pytest.raises(compat.UnsafeCheckpointError) as err:
        mmengine_checkpoint.load_url(url, model_dir=str(tmp_path / 'cache'))
    _assert_clear_refusal(str(err.value), url)
    assert not marker.exists()
    clean = tmp_path / 'clean.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, clean)
    loaded = mmengine_checkpoint.load_url(clean.as_uri(), model_dir=str(tmp_path / 'cache'))
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_tools_test_refuses_unlisted_objects_clearly(unsafe_checkpoint, tmp_path):
    import os
    import os.path as osp

    from mmrrsis.datasets.synthetic import make_refsegrs
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    path, marker = unsafe_checkpoint
    data = str(tmp_path / 'data')
    make_refsegrs(data, num_images=3, seed=0, size=48)
    config = osp.join('configs', 'language_gated', 'language-gated_swin-bert_tiny_synthetic.py')
    cmd = [sys.executable, 'tools/test.py', config,
           str(path), '--work-dir', str(tmp_path / 'work'), '--cfg-options',
           f'test_dataloader.dataset.data_root={data}',
           f'model.data_preprocessor.tokenizer={data}/bert_vocab/vocab.txt',
           'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    env = dict(os.environ, PYTHONPATH=repo, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert f'mmrrsis.compat.UnsafeCheckpointError: checkpoint {path} ' in proc.stderr
    _assert_clear_refusal(proc.stderr, path)
    assert not marker.exists()
