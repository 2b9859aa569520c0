"""The SBANet configs: the LAVT/RMSIN recipe, the parameter budget, and ablations that each
remove (or change) exactly their part."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmrrsis.models.fusions import PWAM
from mmrrsis.registry import MODELS
from mmrrsis.utils.offline import offline_model_cfg
from projects.sbanet.sbanet import BAM, TSCA

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
CONFIGS = sorted(glob.glob(osp.join(PROJECT, 'configs', '*.py')) +
                 glob.glob(osp.join(PROJECT, 'configs', 'ablations', '*.py')))
PAPER = [osp.join(PROJECT, 'configs', f'sbanet_swinb_{d}.py') for d in ('rrsisd', 'refsegrs')]
SWIN_B = (128, 256, 512, 1024)


def config(name):
    return Config.fromfile(osp.join(PROJECT, 'configs', name))


def parts(model_cfg):
    """Parameter name -> numel of the config's fusions (at Swin-B widths) and neck, the only
    modules SBANet and its ablations change."""
    params = {}
    for i, cfg in enumerate(model_cfg.backbone.fusion):
        module = MODELS.build(dict(copy.deepcopy(cfg), vis_channels=SWIN_B[i], text_channels=768))
        params.update({f'fusions.{i}.{n}': p.numel() for n, p in module.named_parameters()})
    if model_cfg.get('neck') is not None:
        module = MODELS.build(copy.deepcopy(model_cfg.neck))
        params.update({f'neck.{n}': p.numel() for n, p in module.named_parameters()})
    return params


def without_changed_parts(cfg):
    """The config as a dict, minus what an SBANet ablation may change."""
    cfg = copy.deepcopy(cfg.to_dict())
    for key in ('bam', 'pwam', 'custom_imports'):
        cfg.pop(key, None)
    cfg['model']['backbone'].pop('fusion')
    cfg['model'].pop('neck', None)
    return cfg


def test_expected_configs():
    names = {osp.relpath(c, osp.join(PROJECT, 'configs')) for c in CONFIGS}
    assert names == {
        'sbanet_swinb_rrsisd.py', 'sbanet_swinb_refsegrs.py', 'sbanet_swinb_risbench.py',
        'sbanet_tiny_synthetic.py',
        'sbanet_tiny_synthetic_pwam.py'
    } | {f'ablations/sbanet_swinb_refsegrs_{a}.py' for a in (
        'no-bam', 'bam-l2v-only', 'no-dfs', 'dfs-text', 'no-tsca', 'nq8', 'nq32')}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, PROJECT))
def test_config_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmrrsis'
    assert cfg.custom_imports == dict(imports=['projects.sbanet.sbanet'],
                                      allow_failed_imports=False)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{path} lacks {key}'
    assert cfg.model.backbone.type == 'StageWiseExtractor'
    assert cfg.model.backbone.text_mode == 'whole'
    assert cfg.model.decode_head.type == 'LAVTHead'
    assert cfg.model.decode_head.loss_decode.class_weight == [0.9, 1.1]
    assert [not f.get('last_stage', False) for f in cfg.model.backbone.fusion] == \
        [True, True, True, False]


@pytest.mark.parametrize('path', PAPER, ids=osp.basename)
def test_recipe_and_weights(path):
    """Spec Sec. 6: the LAVT config's recipe and pretrained weights, SBANet's modules."""
    cfg = Config.fromfile(path)
    lavt = Config.fromfile(
        osp.join(REPO, 'configs', 'lavt', osp.basename(path).replace('sbanet', 'lavt')))
    assert without_changed_parts(cfg) == without_changed_parts(lavt)
    assert cfg.model.data_preprocessor.size == (480, 480)
    assert cfg.model.data_preprocessor.max_length == 20
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        assert 'ReferringRandomFlip' not in types
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.val_evaluator.eval_resolution == cfg.test_evaluator.eval_resolution == 'input'
    assert cfg.default_hooks.checkpoint.save_best == 'oIoU'
    assert cfg.train_cfg.max_epochs == 40
    sched = cfg.param_scheduler[0]
    assert (sched.type, sched.power, sched.eta_min, sched.convert_to_iter_based) == \
        ('LambdaPolyLR', 0.9, 0.0, True)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 5e-5, 0.01)
    text = cfg.model.backbone.text
    assert text.name_or_path == 'bert-base-uncased' and text.pretrained
    assert text.freeze_embeddings and text.frozen_layers == (10, 11)
    assert cfg.model.backbone.vision.init_cfg.checkpoint.endswith('22k_20220317-e5c09f74.pth')
    bam = cfg.model.backbone.fusion[0]
    assert (bam.type, bam.num_queries, bam.num_heads, bam.dfs.type) == ('BAM', 16, 8, 'DFS')
    assert not bam.dfs.text_conditioned and bam.directions == ('l2v', 'v2l')
    assert cfg.model.neck.type == 'TSCA' and cfg.model.neck.in_channels == list(SWIN_B)


def test_parameter_budget(capsys):
    """Spec Sec. 8: at most 1.2 x LAVT's parameters. The full model is built (random weights,
    no download); LAVT's count follows by swapping in its PWAMs, as the rest of the two
    configs is the same (test_recipe_and_weights)."""
    cfg = config('sbanet_swinb_rrsisd.py')
    model_cfg = offline_model_cfg(copy.deepcopy(cfg.model))
    model_cfg.pop('data_preprocessor')
    model = MODELS.build(model_cfg)
    assert all(isinstance(f, BAM) for f in model.backbone.fusions)
    assert isinstance(model.neck, TSCA)
    total = sum(p.numel() for p in model.parameters())
    own = parts(cfg.model)
    assert sum(own.values()) == sum(p.numel() for p in model.backbone.fusions.parameters()) + \
        sum(p.numel() for p in model.neck.parameters())
    lavt_cfg = Config.fromfile(osp.join(REPO, 'configs', 'lavt', 'lavt_swinb_rrsisd.py'))
    lavt = total - sum(own.values()) + sum(parts(lavt_cfg.model).values())
    assert lavt == 227_739_514 - 2 * 1024 * 1024  # tests/test_configs/test_lavt_configs.py
    with capsys.disabled():
        print(f'\nparameters: SBANet {total:,} ({total / 1e6:.2f} M), LAVT {lavt:,} '
              f'({lavt / 1e6:.2f} M), ratio {total / lavt:.4f}')
    assert total == 268_782_254
    assert total <= 1.2 * lavt


ABLATIONS = {
    # name: (parameter names the ablation removes, names it adds), beside the fusion types
    'no-bam': None,
    'bam-l2v-only': (('.word_norm.', '.v2l_attn.', '.text_gate.'), ()),
    'no-dfs': (('.dfs.', ), ()),
    'dfs-text': ((), ('.dfs.text_proj.', )),
    'no-tsca': (('neck.', ), ()),
    'nq8': ((), ()),
    'nq32': ((), ()),
}


@pytest.mark.parametrize('name', ABLATIONS)
def test_ablation_removes_its_part(name):
    parent = config('sbanet_swinb_refsegrs.py')
    child = config(f'ablations/sbanet_swinb_refsegrs_{name}.py')
    assert without_changed_parts(child) == without_changed_parts(parent)
    full, ablated = parts(parent.model), parts(child.model)
    if name == 'no-bam':
        for i, cfg in enumerate(child.model.backbone.fusion):
            assert isinstance(MODELS.build(dict(cfg, vis_channels=SWIN_B[i])), PWAM)
        assert not any('queries' in n or '.dfs.' in n for n in ablated)
        assert {n for n in ablated if n.startswith('neck.')} == \
            {n for n in full if n.startswith('neck.')}
        return
    removed, added = ABLATIONS[name]
    expected = {n for n in full if not any(key in n for key in removed)}
    assert {n for n in ablated if not any(key in n for key in added)} == expected
    assert len(expected) < len(full) if removed else len(expected) == len(full)
    if added:
        assert any(any(key in n for key in added) for n in ablated)
    if name.startswith('nq'):
        queries = int(name[2:])
        for i, width in enumerate(SWIN_B):
            assert ablated[f'fusions.{i}.queries'] == queries * width
        assert sum(full.values()) - sum(ablated.values()) == (16 - queries) * sum(SWIN_B)
    else:
        assert all(ablated[n] == full[n] for n in expected)
