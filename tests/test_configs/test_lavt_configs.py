"""The LAVT configs carry the LAVT/RMSIN recipe as the reference code runs it."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.models.fusions import PWAM
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER = [osp.join(REPO, 'configs', 'lavt', f'lavt_swinb_{d}.py') for d in ('refsegrs', 'rrsisd')]


@pytest.mark.parametrize('path', PAPER, ids=osp.basename)
def test_recipe_values(path):
    cfg = Config.fromfile(path)
    assert cfg.model.data_preprocessor.size == (480, 480)
    assert cfg.model.data_preprocessor.max_length == 20
    assert cfg.model.data_preprocessor.truncation == 'slice'  # as the reference cuts
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        assert 'ReferringRandomFlip' not in types and 'KeyPhraseMasker' not in types
        resize = [t for t in cfg[loader].dataset.pipeline if t['type'] == 'Resize'][0]
        assert resize['scale'] == (480, 480) and not resize['keep_ratio']
    assert cfg.val_evaluator.eval_resolution == cfg.test_evaluator.eval_resolution == 'input'
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.default_hooks.checkpoint.save_best == 'oIoU'
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.train_dataloader.batch_size * 4 == 8  # 2 per GPU on 4 GPUs
    sched = cfg.param_scheduler[0]
    assert (sched.type, sched.power, sched.eta_min, sched.convert_to_iter_based) == \
        ('LambdaPolyLR', 0.9, 0.0, True)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 5e-5, 0.01)
    head = cfg.model.decode_head
    assert head.loss_decode.class_weight == [0.9, 1.1] and head.align_corners


def test_param_groups_and_frozen_bert(tmp_path):
    """On a tiny model with the paper's names: decay only off the Swin's norms and position
    tables; BERT's embeddings and last two layers get no gradient."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic.py'))
    paper = Config.fromfile(PAPER[0])
    cfg.model.data_preprocessor.tokenizer = build_vocab(['a car'], str(tmp_path), 50)
    cfg.model.backbone.text.update(paper.model.backbone.text, pretrained=False,
                                   stages=(4, ), frozen_layers=(2, 3))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, paper.optim_wrapper)
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    lrs = {g['lr'] for g in wrapper.optimizer.param_groups}
    assert lrs == {5e-5}
    for name, param in model.named_parameters():
        swin_norm = name.startswith('backbone.vision.') and 'norm' in name
        table = name.endswith(('relative_position_bias_table', 'absolute_pos_embed'))
        frozen = '.embeddings.' in name or '.layer.2.' in name or '.layer.3.' in name
        assert param.requires_grad == (not (name.startswith('backbone.text.') and frozen)), name
        if param.requires_grad:
            assert decay[id(param)] == (0.0 if swin_norm or table else 0.01), name
    assert any('LayerNorm' in n and decay.get(id(p)) == 0.01 for n, p in model.named_parameters())


def test_full_model_layout_and_size():
    from mmrrsis.utils.offline import offline_model_cfg
    cfg = Config.fromfile(PAPER[0])
    model_cfg = offline_model_cfg(cfg.model)
    model_cfg.pop('data_preprocessor')
    model = MODELS.build(model_cfg)
    fusions = model.backbone.fusions
    assert all(isinstance(f, PWAM) for f in fusions)
    assert [f.gate is not None for f in fusions] == [True, True, True, False]
    assert model.backbone.text_mode == 'whole'
    assert model.backbone.text_passes == ()
    # the reference builds 227.74 M; its last-stage gate (2 x 1024^2) reaches no output
    total = sum(p.numel() for p in model.parameters())
    assert total == 227_739_514 - 2 * 1024 * 1024
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert total - trainable == sum(p.numel() for p in model.backbone.text.bert.embeddings.parameters()) \
        + 2 * sum(p.numel() for p in model.backbone.text.bert.encoder.layer[11].parameters())


def test_frozen_layer_check():
    from mmrrsis.models.text_encoders import BertTextEncoder
    with pytest.raises(ValueError, match=r'frozen_layers \[4\]'):
        BertTextEncoder(pretrained=False, stages=(4, ), frozen_layers=(4, ),
                        bert_config=dict(num_hidden_layers=4, hidden_size=32,
                                         num_attention_heads=2, intermediate_size=64))


LINEAGE = PAPER + [
    osp.join(REPO, 'projects', m, 'configs', f'{m}_swinb_{d}.py')
    for m in ('rmsin', 'fianet', 'sbanet') for d in ('refsegrs', 'rrsisd')]


@pytest.mark.parametrize('path', LINEAGE, ids=osp.basename)
def test_epoch_and_poly_schedule_as_the_reference(path):
    """An epoch drops the last partial batch (the reference's drop_last=True), and the poly
    schedule over it is lr_0 (1 - t / T)^0.9 at iteration t, T = epochs x floor(N / batch)."""
    import torch
    from mmengine.runner import Runner

    from mmrrsis.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.drop_last
    loader_cfg = dict(cfg.train_dataloader, dataset=list(range(13)), num_workers=0,
                      persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batch = cfg.train_dataloader.batch_size
    assert len(loader) == 13 // batch and all(len(b) == batch for b in loader)
    sched_cfg = dict(cfg.param_scheduler[0])
    scheduler = PARAM_SCHEDULERS.get(sched_cfg.pop('type'))
    sched_cfg.pop('convert_to_iter_based')
    lr = cfg.optim_wrapper.optimizer.lr
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = scheduler.build_iter_from_epoch(optimizer, epoch_length=len(loader), **sched_cfg)
    total = cfg.train_cfg.max_epochs * len(loader)
    for t in range(total):
        if t in (0, 1, total // 2, total - 1):
            expected = lr * (1 - t / total)**0.9
            assert abs(optimizer.param_groups[0]['lr'] - expected) <= 1e-12 * lr, (t, total)
        optimizer.step()
        sched.step()
