"""The FIANet configs: they load and build, carry the code's recipe, the tiny one trains."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS, TRANSFORMS
from mmrrsis.utils.offline import offline_model_cfg
from projects.fianet.fianet import FIAM, TMEM

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG_DIR = osp.join(REPO, 'projects', 'fianet', 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')) +
                 glob.glob(osp.join(CONFIG_DIR, 'ablations', '*.py')))
PAPER = {d: osp.join(CONFIG_DIR, f'fianet_swinb_{d}.py') for d in ('refsegrs', 'rrsisd')}
TINY = osp.join(CONFIG_DIR, 'fianet_tiny_synthetic.py')
EXPRESSIONS = ['the red car at the top left', 'the white building on the right',
               'the largest one']


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    return build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)


def _tiny_with(cfg_model, vocab):
    """``cfg_model`` with the tiny config's Swin, BERT and widths (keeps its FIAM/TMEM)."""
    tiny = Config.fromfile(TINY).model
    cfg_model = copy.deepcopy(cfg_model)
    cfg_model.data_preprocessor.tokenizer = vocab
    cfg_model.backbone.vision = tiny.backbone.vision
    cfg_model.backbone.text = tiny.backbone.text
    if cfg_model.get('neck') is not None:
        cfg_model.neck.update(in_channels=tiny.neck.in_channels, text_channels=64)
    cfg_model.decode_head.update(in_channels=tiny.decode_head.in_channels, channels=48)
    return cfg_model


def test_expected_configs_exist():
    names = {osp.relpath(c, CONFIG_DIR) for c in CONFIGS}
    ablations = {f'ablations/fianet_swinb_refsegrs_{a}.py' for a in (
        'context-only', 'no-object', 'no-position', 'no-channel-mod', 'no-tmem', 'tmem1',
        'tmem2', 'tmem3', 'dice-mean')}
    assert {'fianet_swinb_refsegrs.py', 'fianet_swinb_rrsisd.py', 'fianet_swinb_risbench.py',
            'fianet_tiny_synthetic.py'} | ablations == names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_DIR))
def test_config_loads_and_builds(path, vocab):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmrrsis'
    assert cfg.custom_imports == dict(imports=['projects.fianet.fianet'],
                                      allow_failed_imports=False)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{path} lacks {key}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        assert types.index('FIANetTextDecoupler') == len(types) - 2  # right before packing
    model = MODELS.build(_tiny_with(offline_model_cfg(cfg.model), vocab))
    fusions = model.backbone.fusions
    assert all(isinstance(f, FIAM) for f in fusions)
    assert [f.context.gate is not None for f in fusions] == [True, True, True, False]
    name = osp.basename(path)
    with_object = not name.endswith(('context-only.py', 'no-object.py'))
    with_position = with_object and not name.endswith('no-position.py')
    with_channel_mod = not name.endswith(('context-only.py', 'no-channel-mod.py'))
    for f in fusions[:3]:
        assert (f.with_object, f.with_position, f.channel_mod is not None) == \
            (with_object, with_position, with_channel_mod)
    extra = ('object_mask', ) * with_object + ('position_mask', ) * with_position
    assert tuple(p.name for p in model.backbone.text_passes) == extra
    assert all(p.to_fusions and p.mask == p.name for p in model.backbone.text_passes)
    if name.endswith('no-tmem.py'):
        assert not model.with_neck
    else:
        assert isinstance(model.neck, TMEM)
        blocks = {'tmem2.py': 2, 'tmem3.py': 3, 'rrsisd.py': 3, 'risbench.py': 3}
        assert len(model.neck.blocks) == next(
            (n for suffix, n in blocks.items() if name.endswith(suffix)), 1)


@pytest.mark.parametrize('dataset', ['refsegrs', 'rrsisd'])
def test_recipe_values(dataset):
    cfg = Config.fromfile(PAPER[dataset])
    lr, epochs, tokens, blocks = dict(refsegrs=(5e-5, 60, 20, 1), rrsisd=(3e-5, 40, 22, 3))[dataset]
    pre = cfg.model.data_preprocessor
    assert (pre.size, pre.max_length, pre.truncation) == ((480, 480), tokens, 'slice')
    assert pre.span_masks == dict(object_mask='object_spans', position_mask='position_spans')
    assert pre.span_mask_fallbacks == dict(position_mask='attention_mask')
    assert cfg.model.neck.num_blocks == blocks
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', lr, 0.01)
    assert cfg.train_cfg.max_epochs == epochs and cfg.param_scheduler[0].end == epochs
    sched = cfg.param_scheduler[0]
    assert (sched.type, sched.power, sched.eta_min, sched.convert_to_iter_based) == \
        ('LambdaPolyLR', 0.9, 0.0, True)
    assert cfg.train_dataloader.batch_size == 8 and cfg.randomness.seed == 2401
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.default_hooks.checkpoint.save_best == 'oIoU'
    assert cfg.val_evaluator.eval_resolution == cfg.test_evaluator.eval_resolution == 'input'
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert ('RandomBlackBoxes' in train) == (dataset == 'rrsisd')
    if dataset == 'rrsisd':
        assert train.index('RandomBlackBoxes') < train.index('Resize')
        boxes = cfg.train_dataloader.dataset.pipeline[train.index('RandomBlackBoxes')]
        assert (boxes.ratio, tuple(boxes.num_boxes), boxes.box_size) == (0.2, (20, 60), 32)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert 'ReferringRandomFlip' not in [t['type'] for t in pipeline]
        resize = [t for t in pipeline if t['type'] == 'Resize'][0]
        assert resize['scale'] == (480, 480) and not resize['keep_ratio']
        decoupler = [t for t in pipeline if t['type'] == 'FIANetTextDecoupler'][0]
        assert decoupler.categories == dataset
    head = cfg.model.decode_head
    assert head.align_corners and head.dropout_ratio == 0 and head.channels == 512
    ce, dice = head.loss_decode
    assert (ce.type, ce.class_weight, ce.loss_weight) == ('CrossEntropyLoss', [0.9, 1.1], 0.9)
    assert (dice.type, dice.eps, dice.class_reduction, dice.batch_reduction,
            dice.loss_weight) == ('SoftmaxDiceLoss', 1e-6, 'sum', 'sum', 0.1)
    text = cfg.model.backbone.text
    assert text.freeze_embeddings and tuple(text.frozen_layers) == (10, 11)


@pytest.mark.parametrize('dataset, total', [('rrsisd', 242_970_144), ('refsegrs', 238_720_224)])
def test_full_model_size(dataset, total):
    """The code builds 256.17 M (num_tmem 3) / 251.92 M (1); its dead stage-4 FIAM parts and
    unused go_embedding (13.20 M) are not built here."""
    model_cfg = offline_model_cfg(Config.fromfile(PAPER[dataset]).model)
    model_cfg.pop('data_preprocessor')
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) == total
    per_block = sum(p.numel() for p in model.neck.blocks[0].parameters())
    assert per_block == 2_124_960  # 2.12 M per TMEM block


def test_param_groups_and_frozen_bert(vocab):
    cfg = Config.fromfile(TINY)
    paper = Config.fromfile(PAPER['refsegrs'])
    cfg.model.data_preprocessor.tokenizer = vocab
    cfg.model.backbone.text.update(paper.model.backbone.text, pretrained=False, stages=(4, ),
                                   frozen_layers=(2, 3))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, paper.optim_wrapper)
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            assert name.startswith('backbone.text.') and (
                '.embeddings.' in name or '.layer.2.' in name or '.layer.3.' in name), name
            continue
        # as the code: no decay on the Swin's and TMEM's norms and position tables only
        no_decay = (name.startswith(('backbone.vision.', 'neck.')) and 'norm' in name) or \
            name.endswith(('relative_position_bias_table', 'absolute_pos_embed'))
        assert decay[id(param)] == (0.0 if no_decay else 0.01), name
    assert decay[id(model.neck.blocks[0].norm1.weight)] == 0.0
    assert decay[id(model.neck.out_bn.weight)] == 0.01


def _batch():
    decoupler = TRANSFORMS.build(dict(type='FIANetTextDecoupler', categories='refsegrs'))
    torch.manual_seed(0)
    samples = []
    for i, expression in enumerate(EXPRESSIONS):
        spans = decoupler(dict(expression=expression))
        sample = SegDataSample(metainfo=dict(
            expression=expression, object_spans=spans['object_spans'],
            position_spans=spans['position_spans'], img_shape=(64, 64), ori_shape=(64, 64),
            pad_shape=(64, 64)))
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        mask[:, 8 * i:8 * i + 20, 10:40] = 1
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    images = [torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in samples]
    return dict(inputs=images, data_samples=samples)


def test_tiny_config_trains_one_step(vocab):
    cfg = Config.fromfile(TINY)
    cfg.model.data_preprocessor.tokenizer = vocab
    model = MODELS.build(cfg.model)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = model.data_preprocessor(_batch(), training=True)
    texts = [s.text for s in data['data_samples']]
    # "car" and "at the top left"
    assert texts[0].object_mask.sum() == 1 and texts[0].position_mask.sum() == 4
    assert not texts[2].object_mask.any()
    assert torch.equal(texts[2].position_mask, texts[2].attention_mask)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(_batch(), wrapper)
    assert {'decode.loss_ce', 'decode.loss_dice', 'decode.acc_seg'} <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    # the Dice sum: 2 classes x 3 samples terms, each in [0, 1], times 0.1
    assert 0 < float(log_vars['decode.loss_dice']) <= 0.1 * 6
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    for part in ('fusions.0.object_attn.query.weight', 'fusions.2.position_conv.weight',
                 'fusions.1.channel_mod.0.weight', 'fusions.3.context.attn.key.weight',
                 'neck.blocks.0.attn.value.weight', 'neck.gates.0.global_gate.0.weight',
                 'backbone.text.bert.encoder.layer.3.output.dense.weight'):
        assert any(n.endswith(part) for n in changed), part
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_batch(), training=False)
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert set(results[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


@pytest.mark.parametrize('path', [PAPER['refsegrs'], PAPER['rrsisd'], TINY])
def test_pipelines_pack_the_spans(path):
    # the core's PackReferringInputs knows no FIANet field: the configs name the spans
    from mmrrsis.datasets.transforms.formatting import REFERRING_META_KEYS
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pack = cfg[loader].dataset.pipeline[-1]
        assert pack.type == 'PackReferringInputs'
        assert tuple(pack.meta_keys) == REFERRING_META_KEYS + ('object_spans', 'position_spans')
    spans = [(0, 3)]
    packed = TRANSFORMS.build(cfg.test_dataloader.dataset.pipeline[-1])(dict(
        img=torch.zeros(8, 8, 3).numpy(), expression='the car', object_spans=spans,
        position_spans=[]))
    assert packed['data_samples'].object_spans == spans
    assert packed['data_samples'].position_spans == []
