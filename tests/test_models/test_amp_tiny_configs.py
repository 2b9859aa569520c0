"""One bfloat16-autocast training step of every method's tiny config: finite losses and grads."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.analysis import text_metainfo
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXPRESSIONS = ['the red vehicle at the top left', 'the large blue building on the right']
CONFIGS = ('configs/lavt/lavt_tiny_synthetic.py', 'configs/btdnet/btdnet_tiny_synthetic.py',
           'configs/language_gated/language-gated_swin-bert_tiny_synthetic.py',
           'projects/rmsin/configs/rmsin_tiny_synthetic.py',
           'projects/fianet/configs/fianet_tiny_synthetic.py',
           'projects/sbanet/configs/sbanet_tiny_synthetic.py')


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    return build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)


def batch(model, cfg, size):
    """Two samples, with the metainfo the config's text transforms set (key phrase,
    FIANet's object and position spans)."""
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for k, expr in enumerate(EXPRESSIONS):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen))
        mask = torch.zeros(1, size, size, dtype=torch.long)
        mask[:, size // 8 + k * size // 2:size // 2 + k * size // 2, size // 4:size // 2] = 1
        sample = SegDataSample(metainfo=dict(
            text_metainfo(cfg, expr), expression=expr,
            img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


@pytest.mark.parametrize('config', CONFIGS)
def test_bf16_step_is_finite(config, vocab):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.data_preprocessor.tokenizer = vocab
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    data = batch(model, cfg, cfg.model.data_preprocessor.size[0])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(data['inputs'], copy.deepcopy(data['data_samples']))
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss), {k: float(v) for k, v in losses.items()}
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert grads and all(g.dtype == torch.float32 for g in grads.values())
    bad = [n for n, g in grads.items() if not torch.isfinite(g).all()]
    assert not bad, bad
