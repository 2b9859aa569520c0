"""Every config in configs/ loads and its model builds offline (random weights, local vocab)."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS
from mmrrsis.utils.offline import offline_model_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', '*', '*.py')))
CONFIGS = [c for c in CONFIGS if '_base_' not in c]


def offline(cfg, vocab):
    """Points the tokenizer at a local vocab; random weights, no downloads."""
    cfg.model.data_preprocessor.tokenizer = vocab
    offline_model_cfg(cfg.model)
    return cfg


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    return build_vocab(['the red vehicle on the left'], str(tmp_path_factory.mktemp('v')), 100)


def test_expected_configs_exist():
    names = {osp.relpath(c, osp.join(REPO, 'configs')) for c in CONFIGS}
    assert {'btdnet_swinb_refsegrs.py', 'btdnet_swinb_rrsisd.py', 'btdnet_tiny_synthetic.py',
            'lgnet_tiny_synthetic.py'} <= names
    assert len([n for n in names if n.startswith('btdnet_ablations/')]) >= 10


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path, vocab):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmrrsis'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{path} lacks {key}'
    model = MODELS.build(offline(copy.deepcopy(cfg), vocab).model)
    assert sum(p.numel() for p in model.parameters()) > 0
    if 'btdnet_swinb' in path:  # the config as a user gets it, pretrained weights named
        backbone = cfg.model.backbone
        assert backbone.vision.window_size == 12 and backbone.vision.embed_dims == 128
        assert backbone.vision.init_cfg.checkpoint.endswith('.pth')
        assert backbone.text.name_or_path == 'bert-base-uncased' and backbone.text.pretrained
        assert cfg.model.data_preprocessor.max_length == 20
        assert cfg.optim_wrapper.optimizer.lr == 1e-4
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
        keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
        assert keys['backbone'].lr_mult == 0.1 and keys['backbone.fusions'].lr_mult == 1.0
        pipelines = [cfg.train_dataloader.dataset.pipeline, cfg.test_dataloader.dataset.pipeline]
        assert all(any(t.type == 'KeyPhraseMasker' for t in p) for p in pipelines)
        assert cfg.train_cfg.max_epochs == 50
        assert cfg.param_scheduler[0].power == 0.9 and cfg.param_scheduler[0].eta_min == 0


def test_paper_lr_groups(tmp_path):
    from mmengine.optim import build_optim_wrapper
    from mmrrsis.models.backbones import BidirectionalExtractor  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet_tiny_synthetic.py'))
    paper = Config.fromfile(osp.join(REPO, 'configs', 'btdnet_swinb_refsegrs.py'))
    cfg.model.data_preprocessor.tokenizer = build_vocab(['a car'], str(tmp_path), 50)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, paper.optim_wrapper)
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[id(param)] = group['lr']
    named = dict(model.named_parameters())
    by_prefix = {p: {lrs[id(v)] for k, v in named.items() if k.startswith(p)}
                 for p in ('backbone.vision', 'backbone.text', 'backbone.fusions', 'decode_head',
                           'auxiliary_head')}
    assert by_prefix['backbone.vision'] == by_prefix['backbone.text'] == {1e-5}
    assert by_prefix['backbone.fusions'] == by_prefix['decode_head'] == {1e-4}
    assert by_prefix['auxiliary_head'] == {1e-4}


def test_paper_recipe_values():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet_swinb_refsegrs.py'))
    head = cfg.model.decode_head
    assert (head.num_bg_prompts, head.bg_loss_weight, head.num_mci) == (5, 0.6, 3)
    assert cfg.model.auxiliary_head.loss_weight == 0.1
    assert cfg.model.backbone.fusion.window_sizes == (1, 3, 5)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.val_evaluator.type == 'RRSISMetric'
