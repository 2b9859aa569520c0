"""The RSRefSeg 2 configs: they load, carry the reference recipe, build offline; the full model
has the reference's parameter counts; the tiny one trains a step and predicts."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic.vocab import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG_DIR = osp.join(REPO, 'projects', 'rsrefseg2', 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
PAPER = {d: osp.join(CONFIG_DIR, f'rsrefseg2_sam2l-siglip2_{d}.py')
         for d in ('refsegrs', 'rrsisd', 'risbench')}
TINY = osp.join(CONFIG_DIR, 'rsrefseg2_tiny_synthetic.py')


def test_expected_configs_exist():
    assert {osp.basename(c) for c in CONFIGS} >= {
        'rsrefseg2_sam2l-siglip2_refsegrs.py', 'rsrefseg2_sam2l-siglip2_rrsisd.py',
        'rsrefseg2_sam2l-siglip2_risbench.py', 'rsrefseg2_sam2l-siglip2_rrsisd_zero2.py',
        'rsrefseg2_tiny_synthetic.py'}


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmrrsis'
    assert cfg.custom_imports.imports == ['projects.rsrefseg2.rsrefseg2']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{path} lacks {key}'
    text = cfg.model.backbone.text.config
    assert cfg.model.data_preprocessor.max_length <= text.max_position_embeddings


@pytest.mark.parametrize('dataset, epochs, lr',
                         [('refsegrs', 600, 2e-4), ('rrsisd', 300, 1e-4), ('risbench', 300, 1e-4)])
def test_recipe_values(dataset, epochs, lr):
    cfg = Config.fromfile(PAPER[dataset])
    opt = cfg.optim_wrapper
    assert (opt.type, opt.dtype, opt.clip_grad.max_norm) == ('AmpOptimWrapper', 'bfloat16', 3.0)
    assert (opt.optimizer.type, opt.optimizer.lr, opt.optimizer.weight_decay) == \
        ('AdamW', lr, 0.05)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.start_factor, warmup.end, warmup.convert_to_iter_based) == (0.01, 5, True)
    assert (cosine.begin, cosine.end, cosine.T_max, cosine.eta_min_ratio) == \
        (epochs // 10, epochs, int(1.8 * epochs), 0.01)
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_cfg.val_interval == 10
    assert cfg.find_unused_parameters  # the fallback's heads get no gradient in training
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.val_evaluator.eval_resolution == 'original'
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    test = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert train == ['LoadReferringImage', 'LoadReferringAnnotations', 'Resize',
                     'PackReferringInputs']
    assert cfg.train_dataloader.dataset.type == dict(
        refsegrs='RefSegRSDataset', rrsisd='RRSISDDataset', risbench='RISBenchDataset')[dataset]
    assert test.index('Resize') < test.index('LoadReferringAnnotations')
    pre = cfg.model.data_preprocessor
    assert (pre.size, pre.pad_val, pre.seg_pad_val, pre.std) == \
        ((1024, 1024), 0, 255, [255.0] * 3)
    assert pre.tokenizer.name_or_path == 'google/siglip2-so400m-patch16-512'
    assert cfg.model.backbone.sam2.pretrained == 'facebook/sam2.1-hiera-large'
    head = cfg.model.decode_head
    assert [loss.loss_weight for loss in head.loss_decode] == [5.0, 5.0]
    assert head.decorrelation_loss.loss_weight == head.contrast_loss.loss_weight == 0.5


def test_zero2_config():
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'rsrefseg2_sam2l-siglip2_rrsisd_zero2.py'))
    assert cfg.runner_type == 'FlexibleRunner' and cfg.strategy.zero_optimization.stage == 2
    assert cfg.optim_wrapper.type == 'DeepSpeedOptimWrapper'
    assert 'clip_grad' not in cfg.optim_wrapper
    assert cfg.strategy.gradient_clipping == 3.0 and cfg.strategy.bf16.enabled


def test_full_model_parameter_counts():
    """Built on the meta device from the config alone. The reference also holds SigLIP's
    vision pooling head (15,238,352, frozen) with LoRA (211,456) and two unused head scalars,
    none of which reach its output; they are not built here."""
    from transformers import SiglipVisionConfig
    from transformers.models.siglip.modeling_siglip import SiglipMultiheadAttentionPoolingHead
    cfg = Config.fromfile(PAPER['refsegrs']).model
    cfg.pop('data_preprocessor')
    with torch.device('meta'):
        model = MODELS.build(cfg)
        pooling = SiglipMultiheadAttentionPoolingHead(SiglipVisionConfig(
            **cfg.backbone.vision.config))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f'RSRefSeg 2 (SAM 2.1-L + SigLIP 2-So400m/16@512): {total:,} parameters, '
          f'{trainable:,} trainable')
    assert (total, trainable) == (1_431_676_389, 97_655_765)
    pooling_lora = 211_456
    assert sum(p.numel() for p in pooling.parameters()) == 15_238_352
    assert total + 15_238_352 + pooling_lora + 2 == 1_447_126_199
    assert trainable + pooling_lora + 2 == 97_867_223
    assert sum(p.numel() for p in model.neck.parameters()) == 82_773_312
    lora = {name: sum(p.numel() for n, p in part.named_parameters() if 'lora_' in n)
            for name, part in model.backbone.named_children()}
    assert lora == dict(sam2=2_661_376, vision=4_192_768 - pooling_lora, text=4_018_176)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    cfg = Config.fromfile(TINY)
    vocab = build_vocab(['the red car on the left', 'a big white house'],
                        str(tmp_path_factory.mktemp('vocab')), 200)
    cfg.model.data_preprocessor.tokenizer = vocab
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _batch(model, training):
    samples = []
    for expression in ('the red car on the left', 'a big white house'):
        sample = SegDataSample(metainfo=dict(expression=expression, img_shape=(64, 48),
                                             ori_shape=(64, 48)))
        label = torch.zeros(1, 64, 48, dtype=torch.long)
        label[:, 10:30, 5:20] = 1
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    images = [torch.randint(0, 255, (3, 64, 48), dtype=torch.uint8) for _ in samples]
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), training)


def test_tiny_model_trains_and_predicts(tiny):
    tiny.train()
    losses = tiny(**_batch(tiny, True), mode='loss')
    assert set(losses) == {'decode.loss_bce', 'decode.loss_dice', 'decode.loss_decorrelation',
                           'decode.loss_contrast'}
    sum(losses.values()).backward()
    frozen = [n for n, p in tiny.backbone.named_parameters()
              if not p.requires_grad and p.grad is not None]
    assert not frozen
    assert tiny.neck.prompt_embed.grad is not None
    assert tiny.backbone.text.logit_scale.grad is not None
    tiny.eval()
    with torch.no_grad():
        results = tiny(**_batch(tiny, False), mode='predict')
    assert results[0].pred_sem_seg.shape == (64, 48)
    assert results[0].seg_logits.data.shape == (1, 64, 48)


def test_flops_count_both_image_encoders_as_vision():
    """get_flops' breakdown (mmrrsis.analysis.analyse): SAM 2's image encoder and SigLIP's
    vision tower are the vision side, the text tower the text side, the prompter the neck."""
    from mmengine.analysis import FlopAnalyzer

    from mmrrsis.analysis import COMPONENTS, analyse, conv_mode_flop_jit, sdpa_flop_jit
    cfg = Config.fromfile(TINY)
    result = analyse(cfg)
    params, flops = result['params'], result['flops']
    assert sum(params[k] for k in COMPONENTS) == params['total']
    assert sum(flops[k] for k in COMPONENTS) == flops['total']
    backbone = MODELS.build(cfg.model.backbone)
    vision = [backbone.sam2, backbone.vision]
    assert params['vision'] == sum(p.numel() for m in vision for p in m.parameters())
    assert params['text'] == sum(p.numel() for p in backbone.text.parameters())
    assert params['fusion'] == 0 and flops['fusion'] == 0
    image = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        sam2, siglip = (FlopAnalyzer(m.eval(), image) for m in vision)
        for analyzer in (sam2, siglip):
            analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
            analyzer.set_op_handle('aten::_convolution_mode', conv_mode_flop_jit)
            analyzer.unsupported_ops_warnings(False)
            analyzer.tracer_warnings('none')
        assert flops['vision'] == sam2.total() + siglip.total()
    assert flops['text'] > 0 and flops['neck'] > 0 and flops['heads'] > 0
    # SigLIP's patch embedding (padding='valid') is counted
    assert 'aten::_convolution_mode' not in result['unsupported']
