"""The tiny SBANet config and its PWAM child train on a CPU; the final words reach TSCA."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.models.fusions import PWAM
from mmrrsis.registry import MODELS
from projects.sbanet.sbanet import BAM, TSCA

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
EXPRESSIONS = ['the red vehicle at the top left', 'the blue ship at the bottom right']


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    return build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=100)


def build(name, vocab, weight_decay=None):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    cfg.model.data_preprocessor.tokenizer = vocab
    if weight_decay is not None:
        cfg.optim_wrapper.optimizer.weight_decay = weight_decay
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def batch():
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i, expr in enumerate(EXPRESSIONS):
        sample = SegDataSample(metainfo=dict(expression=expr, img_shape=(64, 64),
                                             ori_shape=(64, 64), pad_shape=(64, 64)))
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        mask[:, 4 + 36 * i:24 + 36 * i, 4 + 36 * i:24 + 36 * i] = 1
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=gen)] * 2
    return dict(inputs=images, data_samples=samples)


def test_tiny_sbanet_trains(vocab):
    # without weight decay a weight moves only when it gets a gradient
    model, wrapper = build('sbanet_tiny_synthetic.py', vocab, weight_decay=0.0)
    fusions = model.backbone.fusions
    assert all(isinstance(f, BAM) for f in fusions) and isinstance(model.neck, TSCA)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert torch.count_nonzero(before['backbone.fusions.0.text_gate.2.weight']) == 0
    assert torch.count_nonzero(before['neck.outputs.0.weight']) == 0
    for _ in range(3):
        log = model.train_step(copy.deepcopy(batch()), wrapper)
        assert torch.isfinite(log['loss']) and log['loss'] > 0
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    # The closed gates open in turn: step 1 moves TSCA's output convolutions, step 2 the
    # last BAM's text gate (its words reach the loss only through TSCA), step 3 what lies
    # behind it, with gradients still small. Attention key biases get none at all (a
    # softmax ignores a shift shared by all keys).
    for i in range(4):
        assert {f'backbone.fusions.{i}.queries', f'backbone.fusions.{i}.text_gate.2.weight',
                f'backbone.fusions.{i}.dfs.select.weight', f'neck.outputs.{i}.weight',
                f'backbone.fusions.{i}.v2l_attn.out_proj.weight'} <= changed
    assert len(changed) > 0.95 * len(trainable)

    # the words TSCA reads are the last BAM's: BERT's output moved at real tokens only
    seen = {}
    model.neck.register_forward_hook(lambda mod, args, out: seen.update(args[1]))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch()), training=False)
        results = model.predict(data['inputs'], data['data_samples'])
        text = data['data_samples'][0].text
        ids, mask = text.input_ids[None], text.attention_mask[None]
        bert = model.backbone.text(ids, mask)[0]
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    real = mask[0].bool()
    assert (~real).any()
    assert torch.equal(seen['feats'][0][~real], bert[~real])
    assert not torch.allclose(seen['feats'][0][real], bert[real])


def test_tiny_pwam_child_differs_only_in_the_fusion(vocab):
    sbanet, _ = build('sbanet_tiny_synthetic.py', vocab)
    pwam, wrapper = build('sbanet_tiny_synthetic_pwam.py', vocab)
    assert all(isinstance(f, PWAM) for f in pwam.backbone.fusions)
    assert pwam.backbone.fusions[3].gate is None and isinstance(pwam.neck, TSCA)
    names = {n for n, _ in pwam.named_parameters() if not n.startswith('backbone.fusions.')}
    assert names == {n for n, _ in sbanet.named_parameters()
                     if not n.startswith('backbone.fusions.')}
    log = pwam.train_step(copy.deepcopy(batch()), wrapper)
    assert torch.isfinite(log['loss'])
