"""ReferringEncoderDecoder with the tiny baseline: losses, prediction, text dependence."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS
from mmrrsis.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
EXPRESSIONS = ['the red vehicle at the top left', 'the blue vehicle at the bottom right',
               'the larger storage tank', 'a building on the left']


@pytest.fixture(scope='module')
def model_cfg(tmp_path_factory):
    register_all_modules()
    vocab = build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'language_gated',
                                   'language-gated_swin-bert_tiny_synthetic.py'))
    cfg.model.data_preprocessor.tokenizer = vocab
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.model.backbone.pretrain_img_size = 64
    cfg.model.backbone.window_size = 4
    return cfg.model


def _batch(expressions, masks):
    inputs, samples = [], []
    torch.manual_seed(0)
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    for expr, mask in zip(expressions, masks):
        sample = SegDataSample(metainfo=dict(expression=expr, img_shape=(64, 64),
                                             ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=mask[None].long())
        inputs.append(image.clone())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _masks():
    top_left = torch.zeros(64, 64, dtype=torch.long)
    top_left[4:24, 4:24] = 1
    bottom_right = torch.zeros(64, 64, dtype=torch.long)
    bottom_right[40:60, 40:60] = 1
    return [top_left, bottom_right]


def test_loss_and_predict_shapes(model_cfg):
    model = MODELS.build(copy.deepcopy(model_cfg))
    data = model.data_preprocessor(_batch(EXPRESSIONS[:2], _masks()), training=True)
    assert data['data_samples'][0].text.input_ids.shape == (20, )
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    assert torch.isfinite(losses['decode.loss_ce'])
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_batch(EXPRESSIONS[:2], _masks()), training=False)
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert results[0].seg_logits.data.shape == (2, 64, 64)


def test_logits_depend_on_the_text_only_through_the_expression(model_cfg):
    model = MODELS.build(copy.deepcopy(model_cfg)).eval()
    with torch.no_grad():
        same = model.data_preprocessor(_batch([EXPRESSIONS[0]] * 2, _masks()), training=False)
        diff = model.data_preprocessor(_batch(EXPRESSIONS[:2], _masks()), training=False)
        logits_same = [r.seg_logits.data for r in model.predict(same['inputs'], same['data_samples'])]
        logits_diff = [r.seg_logits.data for r in model.predict(diff['inputs'], diff['data_samples'])]
    assert torch.equal(diff['inputs'][0], diff['inputs'][1])
    assert torch.allclose(logits_same[0], logits_same[1], atol=1e-6)
    assert (logits_diff[0] - logits_diff[1]).abs().max() > 1e-3


def test_predictions_follow_the_text(model_cfg):
    """Same image, two expressions, two targets: after fitting, each mask follows its words."""
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batch = _batch(EXPRESSIONS[:2], _masks())
    for _ in range(40):
        data = model.data_preprocessor(copy.deepcopy(batch), training=True)
        loss = model.loss(data['inputs'], data['data_samples'])['decode.loss_ce']
        optim.zero_grad()
        loss.backward()
        optim.step()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), training=False)
        preds = [r.pred_sem_seg.data[0].bool()
                 for r in model.predict(data['inputs'], data['data_samples'])]
    assert torch.equal(data['inputs'][0], data['inputs'][1])
    masks = [m.bool() for m in _masks()]

    def iou(a, b):
        return ((a & b).sum() / (a | b).sum().clamp(min=1)).item()

    # each prediction overlaps the target its own expression names far more than the other
    assert iou(preds[0], masks[0]) > 2 * iou(preds[0], masks[1]) + 0.1
    assert iou(preds[1], masks[1]) > 2 * iou(preds[1], masks[0]) + 0.1


def test_plain_mmseg_heads_mix_with_text_heads(model_cfg):
    cfg = copy.deepcopy(model_cfg)
    cfg.auxiliary_head = dict(type='FCNHead', in_channels=48, in_index=1, channels=16,
                              num_convs=1, num_classes=2, concat_input=False,
                              loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    model = MODELS.build(cfg)
    data = model.data_preprocessor(_batch(EXPRESSIONS[:2], _masks()), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)

    cfg = copy.deepcopy(model_cfg)
    cfg.decode_head = dict(type='FCNHead', in_channels=192, in_index=3, channels=16,
                           num_convs=1, num_classes=2,
                           loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    model = MODELS.build(cfg).eval()
    with torch.no_grad():
        data = model.data_preprocessor(_batch(EXPRESSIONS[:2], _masks()), training=False)
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_missing_text_and_missing_encoder_are_clear_errors(model_cfg):
    model = MODELS.build(copy.deepcopy(model_cfg))
    with pytest.raises(ValueError, match='ReferringDataPreProcessor'):
        model.loss(torch.zeros(1, 3, 64, 64), [SegDataSample()])
    cfg = copy.deepcopy(model_cfg)
    cfg.pop('text_encoder')
    with pytest.raises(ValueError, match='text_encoder'):
        MODELS.build(cfg)
