"""The RMSIN configs: the published recipe, the ablation children, the tiny model training."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS
from projects.rmsin.rmsin import CIM, IIM, ARCHead

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(PROJECT, 'configs')
PAPER = osp.join(CONFIGS, 'rmsin_swinb_rrsisd.py')
TINY = osp.join(CONFIGS, 'rmsin_tiny_synthetic.py')
ABLATIONS = sorted(glob.glob(osp.join(CONFIGS, 'ablations', '*.py')))


def test_rrsisd_recipe():
    cfg = Config.fromfile(PAPER)
    assert cfg.default_scope == 'mmrrsis'
    assert cfg.custom_imports.imports == ['projects.rmsin.rmsin']
    assert cfg.model.data_preprocessor.size == (480, 480)
    assert cfg.model.data_preprocessor.max_length == 20
    assert cfg.model.data_preprocessor.truncation == 'slice'  # [SEP] lost, as the code cuts
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert train.index('RandomBlackBoxes') < train.index('Resize')
    boxes = cfg.train_dataloader.dataset.pipeline[train.index('RandomBlackBoxes')]
    assert (boxes.ratio, tuple(boxes.num_boxes), boxes.box_size, boxes.seed) == \
        (0.2, (20, 60), 32, 2401)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert 'ReferringRandomFlip' not in [t['type'] for t in pipeline]
        resize = [t for t in pipeline if t['type'] == 'Resize'][0]
        assert (resize.scale, resize.keep_ratio, resize.backend) == ((480, 480), False, 'pillow')
    assert 'RandomBlackBoxes' not in [t['type'] for t in cfg.val_dataloader.dataset.pipeline]
    assert cfg.val_dataloader.dataset.split == 'val' and cfg.test_dataloader.dataset.split == 'test'
    assert cfg.val_evaluator.type == 'RRSISMetric'
    assert cfg.val_evaluator.eval_resolution == cfg.test_evaluator.eval_resolution == 'input'
    assert cfg.default_hooks.checkpoint.save_best == 'oIoU'
    assert cfg.train_cfg.max_epochs == 40 and cfg.train_dataloader.batch_size * 4 == 8
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 3e-5, 0.01)
    sched = cfg.param_scheduler[0]
    assert (sched.type, sched.power, sched.eta_min, sched.convert_to_iter_based) == \
        ('LambdaPolyLR', 0.9, 0.0, True)
    assert cfg.find_unused_parameters is False
    model = cfg.model
    assert [f.get('last_stage', False) for f in model.backbone.fusion] == [False] * 3 + [True]
    assert (model.neck.type, tuple(model.neck.grid), model.neck.num_blocks) == ('CIM', (15, 15), 1)
    head = model.decode_head
    assert (head.type, head.rotated, head.kernel_number, head.max_angle, head.routing_dropout) == \
        ('ARCHead', True, 1, 40, 0.2)
    ce, dice = head.loss_decode
    assert (ce.class_weight, ce.loss_weight) == ([0.9, 1.1], 0.9)
    assert (dice.type, dice.class_reduction, dice.batch_reduction, dice.loss_weight) == \
        ('SoftmaxDiceLoss', 'sum', 'mean', 0.2)
    refsegrs = Config.fromfile(osp.join(CONFIGS, 'rmsin_swinb_refsegrs.py'))
    assert refsegrs.train_dataloader.dataset.type == 'RefSegRSDataset'
    assert refsegrs.optim_wrapper.optimizer.lr == 3e-5
    with open(osp.join(CONFIGS, 'rmsin_swinb_refsegrs.py')) as f:
        assert "NOT the authors' setting" in f.read()


def test_ablations_change_one_thing():
    names = {osp.basename(p)[len('rmsin_swinb_rrsisd_'):-3]: Config.fromfile(p).model
             for p in ABLATIONS}
    assert set(names) == {'no-scale-branch', 'no-cim', 'no-arc', 'lavt', 'ce-only', 'arc-k2',
                          'arc-k4', 'cim-2blocks'}
    paper = Config.fromfile(PAPER).model
    assert all(not f.with_scale_branch for f in names['no-scale-branch'].backbone.fusion)
    assert names['no-cim'].neck is None and names['no-cim'].decode_head == paper.decode_head
    assert names['no-arc'].decode_head.rotated is False
    assert names['arc-k2'].decode_head.kernel_number == 2
    assert names['arc-k4'].decode_head.kernel_number == 4
    assert names['cim-2blocks'].neck.num_blocks == 2
    for name in ('ce-only', 'lavt'):
        loss = names[name].decode_head.loss_decode
        assert (loss.type, loss.class_weight, loss.loss_weight) == \
            ('CrossEntropyLoss', [0.9, 1.1], 1.0)
    lavt = names['lavt']
    assert lavt.neck is None and lavt.decode_head.rotated is False
    assert all(not f.with_scale_branch for f in lavt.backbone.fusion)
    for name, model in names.items():
        if name not in ('no-scale-branch', 'lavt'):
            assert model.backbone == paper.backbone, name


def test_paper_sized_parts_count_the_spec_parameters():
    """Without Swin-B (86.88 M) and BERT-base (108.89 M): IIM, CIM, decoder of 235.84 M."""
    widths = [128, 256, 512, 1024]
    iims = [IIM(c, 768, last_stage=(i == 3)) for i, c in enumerate(widths)]
    count = [sum(p.numel() for p in m.parameters()) for m in (
        torch.nn.ModuleList(iims), CIM(widths, grid=(15, 15)), ARCHead(widths, num_classes=2))]
    assert count == [9_907_570, 9_492_246, 20_670_981]
    assert sum(count) + 86_880_376 + 108_891_648 == 235_842_821
    # the dead stage-4 gates and scale branch of the code: 2 x 2 x 1024² + 38 parameters
    full = IIM(1024, 768)
    assert sum(p.numel() for p in full.parameters()) - sum(
        p.numel() for p in iims[3].parameters()) == 4 * 1024**2 + 38


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    cfg = Config.fromfile(TINY)
    vocab = build_vocab(['the red car on the left of the building'],
                        str(tmp_path_factory.mktemp('vocab')), 50)
    cfg.model.data_preprocessor.tokenizer = vocab
    return cfg


def test_param_groups_decay_as_the_reference(tiny):
    paper = Config.fromfile(PAPER)
    cfg = copy.deepcopy(tiny)
    cfg.model.backbone.text.update(paper.model.backbone.text, pretrained=False, stages=(4, ),
                                   frozen_layers=(2, 3))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, paper.optim_wrapper)
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups for p in g['params']}
    assert {g['lr'] for g in wrapper.optimizer.param_groups} == {3e-5}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            assert name.startswith('backbone.text.bert.') and \
                ('.embeddings.' in name or '.layer.2.' in name or '.layer.3.' in name), name
            continue
        swin_norm = name.startswith('backbone.vision.') and 'norm' in name
        table = name.endswith('relative_position_bias_table')
        assert decay[id(param)] == (0.0 if swin_norm or table else 0.01), name
    names = dict(model.named_parameters())
    for name in ('decode_head.fuse_steps.0.3.routing.ln.weight', 'neck.out_bn.weight',
                 'backbone.fusions.0.scale_branch.steps.0.identity.weight'):
        assert decay[id(names[name])] == 0.01


def test_tiny_model_trains_one_step(tiny):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(tiny.model))
    assert isinstance(model.neck, CIM) and isinstance(model.decode_head, ARCHead)
    assert all(isinstance(f, IIM) for f in model.backbone.fusions)
    wrapper = build_optim_wrapper(model, tiny.optim_wrapper)
    samples = []
    for text in ('the red car on the left', 'the building'):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=(torch.rand(1, 64, 64) > 0.7).long())
        sample.set_metainfo(dict(expression=text))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
                data_samples=samples)
    before = model.neck.blocks[0].csa1.token_proj.weight.clone()
    model.train()
    losses = model.train_step(data, wrapper)
    assert set(losses) >= {'decode.loss_ce', 'decode.loss_dice'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert not torch.equal(before, model.neck.blocks[0].csa1.token_proj.weight)
    model.eval()
    with torch.no_grad():
        out = model.test_step(data)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
