"""Every config in configs/<method>/ loads and its model builds offline (random weights, local
vocab)."""
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
# Project configs not covered by a project's own config test.
CONFIGS += [osp.join(REPO, 'projects', 'rmsin', 'configs', 'rmsin_swinb_risbench.py')]
# Every method on RISBench, with LSCF's protocol (see configs/_base_/datasets/risbench.py).
RISBENCH = [
    osp.join(REPO, 'configs', 'btdnet', 'btdnet_swinb_risbench.py'),
    osp.join(REPO, 'configs', 'lavt', 'lavt_swinb_risbench.py'),
    *(osp.join(REPO, 'projects', m, 'configs', f'{m}_swinb_risbench.py')
      for m in ('rmsin', 'fianet', 'sbanet')),
]
DATASET_CONFIGS = ('risbench', 'risbench_lavt', 'jsonl_risbench', 'jsonl_rrsisd',
                   'jsonl_refsegrs', 'synthetic_risbench')
# Stages (0-based) that get a BSC module, for the configs of Table V's rows.
BSC_STAGES = {
    'btdnet/btdnet_swinb_refsegrs.py': [0, 1, 2, 3],
    'btdnet/btdnet_swinb_rrsisd.py': [0, 1, 2, 3],
    'btdnet/btdnet_swinb_refsegrs_bsc-stage1.py': [0],
    'btdnet/btdnet_swinb_refsegrs_bsc-stage1-2.py': [0, 1],
    'btdnet/btdnet_swinb_refsegrs_bsc-stage1-3.py': [0, 1, 2],
    'btdnet/btdnet_swinb_refsegrs_bsc-deep-stages.py': [2, 3],
    'btdnet/btdnet_swinb_refsegrs_no-bsc.py': [],
}


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
    assert {'btdnet/btdnet_swinb_refsegrs.py', 'btdnet/btdnet_swinb_rrsisd.py',
            'btdnet/btdnet_tiny_synthetic.py', 'lavt/lavt_swinb_rrsisd.py',
            'language_gated/language-gated_swin-bert_tiny_synthetic.py'} <= names
    # RRSIS-HR and NWPU-Refer (the latter for the _notarget children: its no-target samples)
    assert {'btdnet/btdnet_swinb_rrsishr.py', 'lavt/lavt_swinb_rrsishr.py',
            'btdnet/btdnet_swinb_nwpu-refer_notarget.py',
            'lavt/lavt_swinb_nwpu-refer_notarget.py',
            'btdnet/btdnet_tiny_synthetic-nwpu-refer_notarget.py',
            'lavt/lavt_tiny_synthetic-nwpu-refer_notarget.py'} <= names
    # the ablations: one-change children of the RefSegRS config, next to it
    ablations = [n for n in names if n.startswith('btdnet/btdnet_swinb_refsegrs_')
                 and not n.endswith('_notarget.py')]
    assert len(ablations) >= 10
    assert set(BSC_STAGES) <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path, vocab):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmrrsis'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{path} lacks {key}'
    model = MODELS.build(offline(copy.deepcopy(cfg), vocab).model)
    assert sum(p.numel() for p in model.parameters()) > 0
    name = osp.relpath(path, osp.join(REPO, 'configs'))
    if name in BSC_STAGES:
        from mmrrsis.models.fusions import BSC
        fusions = model.backbone.fusions
        assert [i for i, f in enumerate(fusions) if isinstance(f, BSC)] == BSC_STAGES[name]
        assert all(f is None for f in fusions if not isinstance(f, BSC))
    if 'btdnet_swinb' in path:  # the config as a user gets it, pretrained weights named
        backbone = cfg.model.backbone
        assert backbone.vision.window_size == 12 and backbone.vision.embed_dims == 128
        assert backbone.vision.init_cfg.checkpoint.endswith('.pth')
        assert backbone.text.name_or_path == 'bert-base-uncased' and backbone.text.pretrained
        # RISBench's long sentences get 50 tokens (see btdnet_swinb_risbench.py)
        assert cfg.model.data_preprocessor.max_length == (50 if 'risbench' in path else 20)
        assert cfg.optim_wrapper.optimizer.lr == 1e-4
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
        keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
        assert keys['backbone'].lr_mult == 0.1 and keys['backbone.fusions'].lr_mult == 1.0
        # inside a dataset wrapper (the _notarget children's NoTargetDataset) when there is one
        datasets = [cfg[loader].dataset for loader in ('train_dataloader', 'test_dataloader')]
        pipelines = [d.get('dataset', d).pipeline for d in datasets]
        assert all(any(t.type == 'KeyPhraseMasker' for t in p) for p in pipelines)
        assert cfg.train_cfg.max_epochs == 50
        assert cfg.param_scheduler[0].power == 0.9 and cfg.param_scheduler[0].eta_min == 0
        # scored at the input size, as the paper's tables
        assert cfg.val_evaluator.eval_resolution == cfg.test_evaluator.eval_resolution == 'input'


@pytest.mark.parametrize('path', RISBENCH, ids=osp.basename)
def test_risbench_protocol(path):
    cfg = Config.fromfile(path)
    assert cfg.model.data_preprocessor.size == (512, 512)
    assert cfg.model.data_preprocessor.max_length == 50
    assert cfg.train_cfg.max_epochs == cfg.param_scheduler[0].end == 50
    assert cfg.param_scheduler[0].type == 'PolyLR'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.train_dataloader.batch_size == 4  # x 4 GPUs
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.val_dataloader.dataset.split == 'val' and cfg.test_dataloader.dataset.split == 'test'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'RISBenchDataset' and dataset.data_root == 'data/RISBench'
        steps = {t['type']: t for t in dataset.pipeline}
        assert steps['LoadReferringAnnotations']['mask_threshold'] == 0
        assert steps['Resize']['scale'] == (512, 512)
    assert cfg.val_evaluator.eval_resolution == 'input'  # = the original 512x512
    expected_lr = {'btdnet': 1e-4, 'lavt': 5e-5}.get(osp.basename(path).split('_')[0], 3e-5)
    assert cfg.optim_wrapper.optimizer.lr == expected_lr


@pytest.fixture(scope='module')
def synthetic_sets(tmp_path_factory):
    from mmrrsis.datasets.synthetic import make_jsonl, make_risbench
    root = tmp_path_factory.mktemp('sets')
    roots = {name: str(root / name) for name in ('refsegrs', 'rrsisd', 'risbench')}
    for name, path in roots.items():
        make_jsonl(path, 4, dataset=name, seed=0, size=48)
    roots['synthetic'] = str(root / 'synthetic')
    make_risbench(roots['synthetic'], 4, seed=0, size=48)
    return roots


@pytest.mark.parametrize('name', DATASET_CONFIGS)
def test_dataset_configs_read_synthetic_data(name, synthetic_sets):
    from mmrrsis.registry import DATASETS
    from mmrrsis.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', f'{name}.py'))
    key = name.split('_')[-1] if name.startswith('jsonl') else (
        'synthetic' if name.startswith('synthetic') else 'risbench')
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(dict(cfg[loader].dataset, data_root=synthetic_sets[key]))
        sample = dataset[0]
        assert sample['inputs'].shape[0] == 3 and sample['data_samples'].expression
        size = cfg.crop_size
        assert tuple(sample['inputs'].shape[1:]) == tuple(size)


def test_paper_param_groups(tmp_path):
    """lr and weight decay of every parameter of a tiny BTDNet (the paper model's names)
    under the paper's optim_wrapper."""
    from mmengine.optim import build_optim_wrapper
    from torch import nn
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.instancenorm import _InstanceNorm

    from mmrrsis.models.fusions.bsc import TokenInstanceNorm
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py'))
    paper = Config.fromfile(osp.join(REPO, 'configs', 'btdnet', 'btdnet_swinb_refsegrs.py'))
    cfg.model.data_preprocessor.tokenizer = build_vocab(['a car'], str(tmp_path), 50)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, paper.optim_wrapper)
    settings = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            settings[id(param)] = (group['lr'], group['weight_decay'])
    named = dict(model.named_parameters())
    assert len(settings) == len(named)
    got = {name: settings[id(param)] for name, param in named.items()}

    def one(fragment):
        matches = {v for k, v in got.items() if fragment in k}
        assert len(matches) == 1, f'{fragment}: {matches}'
        return matches.pop()

    assert one('vision.stages.0.blocks.0.norm1.weight') == (1e-5, 0.0)
    assert one('vision.stages.0.blocks.0.attn.w_msa.qkv.weight') == (1e-5, 0.01)
    assert one('vision.stages.0.blocks.0.attn.w_msa.relative_position_bias_table') == (1e-5, 0.0)
    assert one('bert.encoder.layer.0.output.LayerNorm.weight') == (1e-5, 0.0)
    assert one('bert.embeddings.LayerNorm.bias') == (1e-5, 0.0)
    assert one('fusions.0.vis_windows.0.weight') == (1e-4, 0.01)
    assert one('fusions.2.gate_v.1.weight') == (1e-4, 0.0)  # InstanceNorm2d
    assert one('fusions.3.gate_l_norm.bias') == (1e-4, 0.0)  # TokenInstanceNorm
    assert one('decode_head.level_embed') == one('decode_head.bg_prompts') == (1e-4, 0.0)
    assert one('decode_head.fg_proj.bias') == (1e-4, 0.01)

    # Every parameter, against the rule the config states: the encoders train at 1e-5,
    # the rest at 1e-4; no decay on the norm layers inside the backbone (Swin, BERT, BSC), on
    # Swin's position tables and on the head's level embeddings and prompts.
    norms = (nn.LayerNorm, nn.GroupNorm, _BatchNorm, _InstanceNorm, TokenInstanceNorm)
    backbone_norm_params = {
        f'{mod_name}.{p_name}'
        for mod_name, module in model.named_modules() if isinstance(module, norms)
        and mod_name.startswith('backbone.')
        for p_name, _ in module.named_parameters(recurse=False)}
    assert len(backbone_norm_params) > 20
    no_decay_names = ('relative_position_bias_table', 'absolute_pos_embed', 'level_embed',
                      'bg_prompts')
    for name in named:
        lr = 1e-5 if name.startswith(('backbone.vision.', 'backbone.text.')) else 1e-4
        no_decay = name in backbone_norm_params or name.rsplit('.', 1)[-1] in no_decay_names
        assert got[name] == (lr, 0.0 if no_decay else 0.01), name


def test_paper_recipe_values():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'btdnet', 'btdnet_swinb_refsegrs.py'))
    head = cfg.model.decode_head
    assert (head.num_bg_prompts, head.bg_loss_weight, head.num_mci) == (5, 0.6, 3)
    assert cfg.model.auxiliary_head.loss_weight == 0.1
    assert cfg.model.backbone.fusion.window_sizes == (1, 3, 5)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.val_evaluator.type == 'RRSISMetric'
