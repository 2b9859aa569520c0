"""tools/test.py refuses a checkpoint that does not fit the config unless --allow-partial."""
import glob
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn

from mmrrsis.datasets.synthetic import make_refsegrs
from mmrrsis.engine.runner.strict_loading import CheckpointMismatchError, load_checkpoint_strictly
from mmrrsis.models.fusions import BSC
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'language_gated',
                  'language-gated_swin-bert_tiny_synthetic.py')
DROPPED = 'decode_head.conv_seg.weight'
EXTRA = 'decode_head.left_over.weight'


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('strict')
    data = str(root / 'data')
    make_refsegrs(data, num_images=4, seed=0, size=48)
    cfg = Config.fromfile(CONFIG)
    cfg.model.data_preprocessor.tokenizer = osp.join(data, 'bert_vocab', 'vocab.txt')
    torch.manual_seed(0)
    state_dict = MODELS.build(cfg.model).state_dict()
    whole = str(root / 'whole.pth')
    torch.save(dict(state_dict=state_dict, meta=dict()), whole)
    assert DROPPED in state_dict
    state_dict = dict(state_dict, **{EXTRA: torch.zeros(2)})
    del state_dict[DROPPED]
    misfit = str(root / 'misfit.pth')
    torch.save(dict(state_dict=state_dict, meta=dict()), misfit)
    return root, data, whole, misfit


def _test_tool(checkpoint, work, data, *flags):
    vocab = osp.join(data, 'bert_vocab', 'vocab.txt')
    cmd = [
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir', work, *flags,
        '--cfg-options', f'test_dataloader.dataset.data_root={data}',
        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
        f'model.data_preprocessor.tokenizer={vocab}', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'default_hooks.visualization.draw=False'
    ]
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_a_misfit_checkpoint_is_refused_and_names_its_keys(workspace):
    root, data, _, misfit = workspace
    proc = _test_tool(misfit, str(root / 'refused'), data)
    assert proc.returncode != 0
    message = proc.stderr[proc.stderr.index('CheckpointMismatchError'):]
    for part in (misfit, f'missing keys (1): {DROPPED}', f'unexpected keys (1): {EXTRA}',
                 '--allow-partial'):
        assert part in message, message
    assert not glob.glob(osp.join(root, 'refused', '*', '*.json')), 'nothing may be scored'


@pytest.mark.parametrize('which,flags', [('whole', ()), ('misfit', ('--allow-partial', ))])
def test_a_whole_checkpoint_or_an_allowed_partial_one_is_scored(workspace, which, flags):
    root, data, whole, misfit = workspace
    work = str(root / which)
    proc = _test_tool(whole if which == 'whole' else misfit, work, data, *flags)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert glob.glob(osp.join(work, '*', '*.json'))
    out = proc.stdout + proc.stderr
    assert 'Load checkpoint from' in out
    mismatch_warned = 'do not match exactly' in out
    assert mismatch_warned == (which == 'misfit')  # mmengine's warning, as before the flag


def _runner(model):
    return SimpleNamespace(model=model, call_hook=lambda *args, **kwargs: None,
                           logger=MMLogger.get_current_instance(), _has_loaded=False)


def test_the_message_lists_twenty_keys_and_counts_the_rest(tmp_path):
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(13)])  # 26 keys
    path = str(tmp_path / 'empty.pth')
    torch.save(dict(state_dict={}), path)
    listed = r'missing keys \(26\): 0\.weight, (\d+\.\w+, ){19}\.\.\. \(6 more\)'
    with pytest.raises(CheckpointMismatchError, match=listed):
        load_checkpoint_strictly(_runner(model), path)
    torch.save(dict(state_dict=dict(nn.Linear(3, 2).state_dict())), path)
    with pytest.raises(CheckpointMismatchError, match=r'size mismatch for weight'):
        load_checkpoint_strictly(_runner(nn.Linear(2, 2)), path)


def test_a_former_layout_still_loads_through_its_shim(tmp_path):
    """BSC's former shared ``window_logits`` under a DDP prefix: no misfit, and it is loaded."""
    old = nn.ModuleList([BSC(8, 16, embed_dims=8)]).state_dict()
    shared = torch.tensor([0.3, -0.2, 1.0])
    for direction in ('l2v', 'v2l'):
        del old[f'0.window_logits_{direction}']
    old['0.window_logits'] = shared
    path = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict={f'module.{k}': v for k, v in old.items()}), path)
    runner = _runner(nn.ModuleList([BSC(8, 16, embed_dims=8)]))
    load_checkpoint_strictly(runner, path)
    assert runner._has_loaded
    assert torch.equal(runner.model[0].window_logits_v2l, shared)
