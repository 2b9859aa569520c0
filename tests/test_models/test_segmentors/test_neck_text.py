"""Necks that declare ``takes_text`` receive the text features; other necks do not."""
import torch
from mmengine.structures import BaseDataElement, PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmrrsis.registry import MODELS

SWIN = dict(type='SwinTransformer', pretrain_img_size=32, embed_dims=8, depths=(1, 1, 1, 1),
            num_heads=(1, 1, 1, 1), window_size=2, drop_path_rate=0.)
BERT = dict(type='BertTextEncoder', pretrained=False, stages=(2, ),
            bert_config=dict(vocab_size=30, hidden_size=16, num_hidden_layers=2,
                             num_attention_heads=2, intermediate_size=32))


@MODELS.register_module(force=True)
class _TextNeck(nn.Module):
    takes_text = True

    def __init__(self):
        super().__init__()
        self.seen = None

    def forward(self, inputs, text_feats):
        self.seen = text_feats
        return [x * 2 for x in inputs]


@MODELS.register_module(force=True)
class _PlainNeck(nn.Module):

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, inputs):
        self.calls += 1
        return inputs


def build(neck):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ReferringEncoderDecoder',
        backbone=dict(type='StageWiseExtractor', vision=SWIN, text=BERT,
                      fusion=dict(type='PWAM')),
        neck=neck,
        decode_head=dict(type='LAVTHead', in_channels=[8, 16, 32, 64], channels=8,
                         num_classes=2)))


def samples():
    out = []
    for i in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(32, 32), ori_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 32, 32)))
        ids = torch.tensor([2, 5 + i, 7, 3, 0, 0])
        sample.text = BaseDataElement(input_ids=ids, attention_mask=(ids > 0).long())
        out.append(sample)
    return out


def test_neck_with_text_gets_the_text_features():
    model = build(dict(type='_TextNeck'))
    inputs = torch.randn(2, 3, 32, 32)
    batch = samples()
    losses = model.loss(inputs, batch)
    assert losses['decode.loss_ce'] > 0
    seen = model.neck.seen
    assert set(seen) == {'feats', 'mask'} and seen['feats'].shape == (2, 6, 16)
    assert torch.equal(seen['mask'], torch.stack([s.text.attention_mask for s in batch]))
    # the neck's output is what the head decodes
    model.eval()
    text = dict(input_ids=torch.stack([s.text.input_ids for s in batch]), attention_mask=seen['mask'])
    with torch.no_grad():
        feats, text_feats = model.backbone(inputs, text)
        expected = model.decode_head(model.neck(feats, text_feats))
        got = model._forward(inputs, batch)
    torch.testing.assert_close(got, expected)


def test_neck_without_text_gets_only_the_visual_features():
    model = build(dict(type='_PlainNeck'))
    model.loss(torch.randn(2, 3, 32, 32), samples())
    assert model.neck.calls == 1
