"""Shared model-test fixtures."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmrrsis.datasets.synthetic import build_vocab

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
