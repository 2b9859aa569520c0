"""output_fingerprint.py: the same model compares equal, a changed weight does not."""
import importlib.util
import os.path as osp
from argparse import Namespace

import torch

from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis', 'output_fingerprint.py')
CONFIG = osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic.py')


def _tool():
    spec = importlib.util.spec_from_file_location('output_fingerprint', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_save_then_compare(tmp_path, capsys):
    make_refsegrs(str(tmp_path / 'data' / 'refsegrs'), 20, seed=0, size=64)
    tool = _tool()
    args = dict(data_root=str(tmp_path / 'data'), size=None, tol=1e-5, cfg_options=None,
                no_weights=False)
    (tmp_path / 'fp').mkdir()
    folder = str(tmp_path / 'fp')
    assert tool.check(CONFIG, Namespace(save=folder, compare=None, **args), folder) == []
    saved = torch.load(osp.join(folder, 'lavt_tiny_synthetic.pt'), weights_only=False)
    assert {'seg_logits', 'train.decode.loss_ce'} <= set(saved['outputs'])
    assert tool.check(CONFIG, Namespace(save=None, compare=folder, **args), folder) == []
    assert 'OK, largest difference 0.00e+00' in capsys.readouterr().out
    # one changed weight of the decode head's classifier: the outputs differ
    key = next(k for k in saved['state_dict'] if k.startswith('decode_head.conv_seg.weight'))
    saved['state_dict'][key] = saved['state_dict'][key] + 1
    torch.save(saved, osp.join(folder, 'lavt_tiny_synthetic.pt'))
    assert tool.check(CONFIG, Namespace(save=None, compare=folder, **args), folder) == \
        ['lavt_tiny_synthetic']
    assert 'DIFFERENT' in capsys.readouterr().out
