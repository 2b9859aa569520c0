"""Tiny BTDNet end to end: loss keys and weights, D-MOLS skipped at inference, text dependence."""
import copy

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.registry import MODELS

EXPRESSIONS = ['the red vehicle at the top left', 'the blue vehicle at the bottom right']


def _batch(expressions):
    torch.manual_seed(0)
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    masks = [torch.zeros(64, 64, dtype=torch.long) for _ in expressions]
    masks[0][4:24, 4:24] = 1
    masks[1][40:60, 40:60] = 1
    masker = KeyPhraseMasker(backend='lexicon')
    samples = []
    for expr, mask in zip(expressions, masks):
        spans = masker(dict(expression=expr))['key_phrase_spans']
        sample = SegDataSample(metainfo=dict(expression=expr, key_phrase_spans=spans,
                                             img_shape=(64, 64), ori_shape=(64, 64),
                                             pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=mask[None])
        samples.append(sample)
    return dict(inputs=[image.clone() for _ in expressions], data_samples=samples), masks


def test_losses_and_masked_ids(tiny_btdnet_cfg):
    model = MODELS.build(copy.deepcopy(tiny_btdnet_cfg))
    batch, _ = _batch(EXPRESSIONS)
    data = model.data_preprocessor(batch, training=True)
    text = data['data_samples'][0].text
    pad = model.data_preprocessor.tokenizer.pad_token_id
    tokens = model.data_preprocessor.tokenizer.convert_ids_to_tokens(text.input_ids.tolist())
    masked = [tok for tok, m in zip(tokens, text.masked_ids.tolist()) if m == pad and tok != '[PAD]']
    assert masked == ['the', 'red', 'vehicle']  # the key noun phrase (span='phrase')
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_fg', 'decode.loss_bg', 'decode.acc_seg', 'aux.loss_rec'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_dmols_is_skipped_at_inference(tiny_btdnet_cfg):
    model = MODELS.build(copy.deepcopy(tiny_btdnet_cfg)).eval()

    def fail(*args, **kwargs):
        raise AssertionError('D-MOLS must not run at inference')

    model.auxiliary_head.forward = fail
    model.auxiliary_head.loss = fail
    batch, _ = _batch(EXPRESSIONS)
    with torch.no_grad():
        data = model.data_preprocessor(batch, training=False)
        results = model.predict(data['inputs'], data['data_samples'])
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert set(results[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_btdnet_predictions_follow_the_text(tiny_btdnet_cfg):
    """Same image, two expressions, two targets: after fitting, each mask follows its words."""
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(tiny_btdnet_cfg))
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    batch, masks = _batch(EXPRESSIONS)
    for _ in range(40):
        data = model.data_preprocessor(copy.deepcopy(batch), training=True)
        losses = model.loss(data['inputs'], data['data_samples'])
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), training=False)
        preds = [r.pred_sem_seg.data[0].bool()
                 for r in model.predict(data['inputs'], data['data_samples'])]
    assert torch.equal(data['inputs'][0], data['inputs'][1])
    masks = [m.bool() for m in masks]

    def iou(a, b):
        return ((a & b).sum() / (a | b).sum().clamp(min=1)).item()

    assert iou(preds[0], masks[0]) > 2 * iou(preds[0], masks[1]) + 0.1
    assert iou(preds[1], masks[1]) > 2 * iou(preds[1], masks[0]) + 0.1
