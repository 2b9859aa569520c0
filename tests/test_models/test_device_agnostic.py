"""Every zoo method's tiny model runs a training and an inference forward on the ``meta``
device: a tensor that a module creates on the CPU (no ``device=``) would meet the meta
tensors and fail, as it would meet CUDA tensors on a GPU."""
import copy

import pytest
import torch
from mmengine.config import Config

from mmrrsis.analysis import EXPRESSION, make_batch, text_metainfo
from mmrrsis.registry import MODELS
from mmrrsis.utils.offline import offline_model_cfg

TINY = ['configs/lavt/lavt_tiny_synthetic.py', 'configs/btdnet/btdnet_tiny_synthetic.py',
        'configs/btdnet/btdnet_tiny_synthetic_notarget.py',
        'projects/rmsin/configs/rmsin_tiny_synthetic.py',
        'projects/fianet/configs/fianet_tiny_synthetic.py',
        'projects/sbanet/configs/sbanet_tiny_synthetic.py']


@pytest.mark.parametrize('path', TINY)
def test_tiny_model_runs_on_the_meta_device(path, tmp_path):
    import torch.fx.experimental._config as fx_config

    # mmseg's accuracy indexes with a boolean mask: let meta tensors assume it is all True
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
        run_on_meta(path, str(tmp_path))


def run_on_meta(path: str, vocab_dir: str) -> None:
    from mmrrsis.datasets.synthetic import build_vocab
    cfg = Config.fromfile(path)
    model_cfg = offline_model_cfg(copy.deepcopy(cfg.model))
    model_cfg.data_preprocessor.tokenizer = build_vocab([EXPRESSION], vocab_dir, 100)
    model_cfg.data_preprocessor.size = (64, 64)
    model = MODELS.build(model_cfg).to('meta')
    metainfo = text_metainfo(cfg, EXPRESSION)
    data = model.data_preprocessor(make_batch(64, 2, metainfo), training=True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert losses and all(v.device.type == 'meta' for v in losses.values())
    model.eval()
    data = model.data_preprocessor(make_batch(64, 2, metainfo), training=False)
    with torch.no_grad():
        logits = model(data['inputs'], data['data_samples'], mode='tensor')
    assert logits.device.type == 'meta' and logits.shape[0] == 2
