"""A tiny BTDNet with random weights, saved as an mmengine-style checkpoint, for the API tests."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmrrsis.apis import init_model
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py')
EXPRESSIONS = ['the red vehicle at the top left', 'the white building on the right',
               'the largest tree']


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    """Config path, cfg_options pointing the tokenizer at a made vocab, and a checkpoint."""
    root = tmp_path_factory.mktemp('tiny_btdnet')
    vocab = build_vocab(EXPRESSIONS, str(root / 'vocab'), vocab_size=200)
    cfg_options = {'model.data_preprocessor.tokenizer': vocab}
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(cfg_options)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(root / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'iter': 1, 'dataset_meta': {'classes': ('background', 'target'),
                                                     'palette': [[0, 0, 0], [0, 255, 0]]}}},
               checkpoint)
    return dict(config=CONFIG, checkpoint=checkpoint, cfg_options=cfg_options, vocab=vocab)


@pytest.fixture(scope='session')
def tiny_model(tiny_checkpoint):
    return init_model(tiny_checkpoint['config'], tiny_checkpoint['checkpoint'], device='cpu',
                      cfg_options=tiny_checkpoint['cfg_options'])


@pytest.fixture(scope='session')
def tiny_notarget_checkpoint(tmp_path_factory):
    """As ``tiny_checkpoint`` for the tiny BTDNet with the existence head
    (configs/btdnet/btdnet_tiny_synthetic_notarget.py)."""
    root = tmp_path_factory.mktemp('tiny_btdnet_notarget')
    vocab = build_vocab(EXPRESSIONS, str(root / 'vocab'), vocab_size=200)
    cfg_options = {'model.data_preprocessor.tokenizer': vocab}
    config = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic_notarget.py')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    torch.manual_seed(0)
    checkpoint = str(root / 'tiny_notarget.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, checkpoint)
    return dict(config=config, checkpoint=checkpoint, cfg_options=cfg_options, vocab=vocab)


@pytest.fixture(scope='session')
def tiny_notarget_model(tiny_notarget_checkpoint):
    return init_model(tiny_notarget_checkpoint['config'], tiny_notarget_checkpoint['checkpoint'],
                      device='cpu', cfg_options=tiny_notarget_checkpoint['cfg_options'])
