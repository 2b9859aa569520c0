"""ReferringEncoderDecoder's input-size prediction (``pred_sem_seg_input``) and its scoring by
``RRSISMetric(eval_resolution='input')``: padding, flips, slide inference and TTA merges."""
import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models import SegTTAModel
from mmseg.structures import SegDataSample

from mmrrsis.evaluation import RRSISMetric
from mmrrsis.registry import MODELS

EXPRESSIONS = ['the red vehicle at the top left', 'the blue vehicle at the bottom right']
ORI_SHAPE = (35, 50)


def _gt():
    gt = torch.zeros(ORI_SHAPE, dtype=torch.long)
    gt[5:20, 10:40] = 1
    gt[30:, 45:] = 255
    return gt


def _prepared(model, size, **metainfo):
    """A tokenized test batch of two samples (one image, two expressions) of input ``size``
    (h, w), with the metainfo given."""
    torch.manual_seed(0)
    image = torch.randint(0, 255, (3, ) + size, dtype=torch.uint8)
    samples = []
    for expression in EXPRESSIONS:
        sample = SegDataSample(metainfo=dict(expression=expression, img_path='scene.tif'))
        sample.gt_sem_seg = PixelData(data=_gt()[None])
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=[image.clone() for _ in samples],
                                        data_samples=samples), training=False)
    for sample in data['data_samples']:
        sample.set_metainfo(dict(ori_shape=ORI_SHAPE, **metainfo))
    return data['inputs'], data['data_samples']


def _metas(samples):
    return [dict(s.metainfo, text=s.text) for s in samples]


def _fg(logits):
    """TBTDHead's logits are [M_bg, M_fg]: the target is where M_fg > M_bg."""
    return (logits[:, 1] > logits[:, 0]).long()


@pytest.fixture(scope='module')
def model(tiny_btdnet_cfg):
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(tiny_btdnet_cfg)).eval()


def test_padded_non_square_input_matches_encode_decode_and_scores(model):
    # input 32×48 = a 28×40 image padded 4 px at the bottom and 8 px on the right
    # (padding_size is left, right, top, bottom); original image 35×50.
    inputs, samples = _prepared(model, (32, 48), img_shape=(28, 40), pad_shape=(32, 48),
                                padding_size=[0, 8, 0, 4])
    with torch.no_grad():
        results = model.predict(inputs, samples)
        expected = _fg(model.encode_decode(inputs, _metas(samples)))[:, :28, :40]
    assert 0 < expected.float().mean() < 1  # both classes present: the check means something
    for result, mask in zip(results, expected):
        assert result.pred_sem_seg_input.data.shape == (1, 28, 40)
        assert torch.equal(result.pred_sem_seg_input.data[0], mask)
        assert result.pred_sem_seg.data.shape == (1, ) + ORI_SHAPE
        assert result.pred_sem_seg.has_input_pred

    # RRSISMetric('input') scores that mask against the GT sampled at pixel centres:
    # input row i reads GT row floor((i + 0.5) * 35 / 28), column j floor((j + 0.5) * 50 / 40).
    rows = ((torch.arange(28) + 0.5) * 35 / 28).floor().long()
    cols = ((torch.arange(40) + 0.5) * 50 / 40).floor().long()
    gt = _gt()[rows][:, cols]
    valid = gt != 255
    hand = []
    for mask in expected:
        pred_fg, gt_fg = (mask == 1) & valid, (gt == 1) & valid
        hand.append((int((pred_fg & gt_fg).sum()), int((pred_fg | gt_fg).sum()), -1, 1,
                     int(pred_fg.sum())))
    metric = RRSISMetric(eval_resolution='input')
    metric.process({}, [r.to_dict() for r in results])
    assert metric.results == hand


@pytest.mark.parametrize('direction, dim', [('horizontal', 2), ('vertical', 1)])
def test_flip_is_undone(model, direction, dim):
    inputs, samples = _prepared(model, (32, 48), img_shape=(32, 48), pad_shape=(32, 48),
                                flip=True, flip_direction=direction)
    with torch.no_grad():
        results = model.predict(inputs, samples)
        expected = _fg(model.encode_decode(inputs, _metas(samples))).flip(dims=(dim, ))
    for result, mask in zip(results, expected):
        assert torch.equal(result.pred_sem_seg_input.data[0], mask)


def test_slide_inference_gives_the_whole_input(model, monkeypatch):
    monkeypatch.setattr(model, 'test_cfg', type(model.test_cfg)(
        dict(mode='slide', crop_size=(32, 32), stride=(16, 16))))
    # two 32×32 windows overlapping by 16 columns
    inputs, samples = _prepared(model, (32, 48), img_shape=(32, 48), pad_shape=(32, 48))
    with torch.no_grad():
        results = model.predict(inputs, samples)
        expected = _fg(model.slide_inference(inputs, _metas(samples)))
    for result, mask in zip(results, expected):
        # slide inference rewrites img_shape in its metas to the window's; not in the samples
        assert result.img_shape == (32, 48)
        assert result.pred_sem_seg_input.data.shape == (1, 32, 48)
        assert torch.equal(result.pred_sem_seg_input.data[0], mask)


def test_tta_merge_is_refused_by_input_scoring(model):
    inputs, samples = _prepared(model, (32, 48), img_shape=(32, 48), pad_shape=(32, 48))
    with torch.no_grad():
        augs = [model.predict(inputs, copy.deepcopy(samples))[0] for _ in range(2)]
    merged = SegTTAModel(module=model).merge_preds([augs])
    with pytest.raises(ValueError, match='replaced.*original'):
        RRSISMetric(eval_resolution='input').process({}, [m.to_dict() for m in merged])
    metric = RRSISMetric(eval_resolution='original')
    metric.process({}, [m.to_dict() for m in merged])
    assert len(metric.results) == 1
