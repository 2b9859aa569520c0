"""Shared model-test fixtures."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.datasets.transforms import KeyPhraseMasker

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tiny_btdnet_cfg(tmp_path_factory, request):
    """``model`` of configs/btdnet/btdnet_tiny_synthetic.py with a vocab made from the test
    module's ``EXPRESSIONS`` (no download)."""
    vocab = build_vocab(request.module.EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')),
                        vocab_size=200)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py'))
    cfg.model.data_preprocessor.tokenizer = vocab
    return cfg.model


@pytest.fixture
def train_batch(request):
    """A function ``model -> data`` giving the preprocessed training batch of the test module's
    ``EXPRESSIONS``: random (3, 64, 64) uint8 images (seed 0), one box target each, lexicon
    key-phrase spans."""

    def make(model):
        gen = torch.Generator().manual_seed(0)
        masker = KeyPhraseMasker(backend='lexicon')
        inputs, samples = [], []
        for k, expr in enumerate(request.module.EXPRESSIONS):
            inputs.append(torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=gen))
            mask = torch.zeros(1, 64, 64, dtype=torch.long)
            mask[:, 8 + 30 * k:30 + 30 * k, 10:40] = 1
            spans = masker(dict(expression=expr))['key_phrase_spans']
            sample = SegDataSample(metainfo=dict(
                expression=expr, key_phrase_spans=spans, img_shape=(64, 64),
                ori_shape=(64, 64), pad_shape=(64, 64)))
            sample.gt_sem_seg = PixelData(data=mask)
            samples.append(sample)
        return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)

    return make
