import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets import KeyPhraseMasker
from mmrrsis.models.decode_heads import DMOLSHead
from mmrrsis.registry import MODELS

B, NT, D, C_L, SIZE = 2, 8, 32, 32, 64
IN_CHANNELS = [8, 16, 24, 32]


def make_head(**kwargs):
    cfg = dict(type='DMOLSHead', in_channels=IN_CHANNELS[-1], channels=D, text_channels=C_L,
               num_heads=4)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def make_inputs(seed=1, requires_grad=False):
    """V'_1..V'_4 of a 64x64 image and a training text dict; sample 0 has 3 padded tokens."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(B, c, SIZE // 4 // 2**i, SIZE // 4 // 2**i, generator=gen)
              for i, c in enumerate(IN_CHANNELS)]
    mask = torch.ones(B, NT, dtype=torch.long)
    mask[0, 5:] = 0
    text_feats = dict(
        feats=torch.randn(B, NT, C_L, generator=gen),
        mask=mask,
        masked_feats=torch.randn(B, NT, C_L, generator=gen),
        target_feats=torch.randn(B, NT, C_L, generator=gen))
    if requires_grad:
        for key in ('feats', 'masked_feats', 'target_feats'):
            text_feats[key].requires_grad_(True)
        inputs[-1].requires_grad_(True)
    return inputs, text_feats


def test_reconstruction_shape():
    head = make_head()
    inputs, text_feats = make_inputs()
    assert head(inputs, text_feats).shape == (B, NT, C_L)


def test_loss_is_mu_times_squared_l2_distance_over_real_tokens():
    head = make_head().eval()
    inputs, text_feats = make_inputs()
    losses = head.loss(inputs, text_feats, [], train_cfg=None)
    assert set(losses) == {'loss_rec'}
    with torch.no_grad():
        error = (head(inputs, text_feats) - text_feats['target_feats']).pow(2).sum(-1)
    expected = (error[0, :5].mean() + error[1].mean()) / 2
    assert torch.allclose(losses['loss_rec'], 0.1 * expected, atol=1e-5)


def test_reconstruction_loss_by_hand():
    """Eq. 13 on 2 samples, 3 token slots, 2 channels; sample 0's last slot is padding."""
    rec = torch.tensor([[[1., 2.], [0., 0.], [5., 5.]],
                        [[1., 1.], [2., 0.], [0., 3.]]])
    target = torch.tensor([[[0., 0.], [1., 1.], [0., 0.]],
                           [[1., 1.], [0., 0.], [0., 0.]]])
    selected = torch.tensor([[1, 1, 0], [1, 1, 1]])
    # ||r - t||^2 per token: sample 0 -> 1+4=5, 1+1=2 (padding: 50, ignored);
    # sample 1 -> 0, 4, 9. L_rec = ((5+2)/2 + (0+4+9)/3) / 2 = (3.5 + 13/3) / 2 = 47/12.
    head = make_head()
    assert head.channel_reduction == 'sum'
    assert torch.allclose(head.reconstruction_loss(rec, target, selected),
                          torch.tensor(47 / 12))
    # The channel mean is that over C_l = 2: ((2.5+1)/2 + (0+2+4.5)/3) / 2 = 47/24.
    mean_head = make_head(channel_reduction='mean')
    assert torch.allclose(mean_head.reconstruction_loss(rec, target, selected),
                          torch.tensor(47 / 24))


def test_padded_target_tokens_do_not_count():
    head = make_head().eval()
    inputs, text_feats = make_inputs()
    loss = head.loss(inputs, text_feats, [], train_cfg=None)['loss_rec']
    text_feats['target_feats'] = text_feats['target_feats'].clone()
    text_feats['target_feats'][0, 5:] = 1e3
    assert torch.allclose(loss, head.loss(inputs, text_feats, [], train_cfg=None)['loss_rec'])


def test_loss_weight_scales_exactly():
    inputs, text_feats = make_inputs()
    head_01 = make_head(loss_weight=0.1).eval()
    head_1 = make_head(loss_weight=1.0).eval()
    head_1.load_state_dict(head_01.state_dict())
    loss_01 = head_01.loss(inputs, text_feats, [], train_cfg=None)['loss_rec']
    loss_1 = head_1.loss(inputs, text_feats, [], train_cfg=None)['loss_rec']
    assert torch.allclose(loss_01 / loss_1, torch.tensor(0.1))


def test_masked_tokens_need_the_mask():
    head = make_head(rec_tokens='masked').eval()
    inputs, text_feats = make_inputs()
    with pytest.raises(KeyError, match='masked_token_mask'):
        head.loss(inputs, text_feats, [], train_cfg=None)


# the tiny BTDNet's vocabulary (tests/test_models/conftest.py) is built from these
EXPRESSIONS = ['the red vehicle at the top left', 'on the left']


def test_masked_tokens_only_through_btdnet_loss(tiny_btdnet_cfg):
    """rec_tokens='masked' in a whole BTDNet: the preprocessor's masked_token_mask reaches
    L_rec through the segmentor and the extractor, and selects the key phrase's tokens."""
    cfg = copy.deepcopy(tiny_btdnet_cfg)
    cfg.auxiliary_head.rec_tokens = 'masked'
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    masker = KeyPhraseMasker(backend='lexicon')
    samples = []
    for expression in EXPRESSIONS:
        spans = masker(dict(expression=expression))['key_phrase_spans']
        sample = SegDataSample(metainfo=dict(expression=expression, key_phrase_spans=spans,
                                             img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                             pad_shape=(SIZE, SIZE)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, SIZE, SIZE, dtype=torch.long))
        samples.append(sample)
    image = torch.randint(0, 255, (3, SIZE, SIZE), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=[image] * 2, data_samples=samples),
                                   training=True)

    head, seen = model.auxiliary_head, {}
    reconstruction_loss = head.reconstruction_loss

    def spy(rec, target, selected):
        seen.update(rec=rec, target=target, selected=selected)
        return reconstruction_loss(rec, target, selected)

    head.reconstruction_loss = spy
    losses = model.loss(data['inputs'], data['data_samples'])

    ids = data['data_samples'][0].text.input_ids.tolist()
    tokens = model.data_preprocessor.tokenizer.convert_ids_to_tokens(ids)
    assert tokens[:9] == ['[CLS]', 'the', 'red', 'vehicle', 'at', 'the', 'top', 'left', '[SEP]']
    # only "the red vehicle" counts; "on the left" names nothing, so sample 1 drops out
    expected = torch.zeros(2, len(ids), dtype=torch.bool)
    expected[0, 1:4] = True
    assert torch.equal(seen['selected'], expected)
    assert torch.allclose(losses['aux.loss_rec'],
                          head.loss_weight * reconstruction_loss(seen['rec'], seen['target'],
                                                                 expected))
    assert losses['aux.loss_rec'] > 0 and losses['aux.loss_rec'].requires_grad


def test_no_selected_token_gives_zero_attached_loss():
    head = make_head(rec_tokens='masked')
    inputs, text_feats = make_inputs()
    text_feats['masked_token_mask'] = torch.zeros(B, NT, dtype=torch.bool)
    loss = head.loss(inputs, text_feats, [], train_cfg=None)['loss_rec']
    assert loss.item() == 0.0 and loss.requires_grad


def test_gradient_stops_at_the_target_and_reaches_inputs_and_params():
    head = make_head()
    inputs, text_feats = make_inputs(requires_grad=True)
    head.loss(inputs, text_feats, [], train_cfg=None)['loss_rec'].backward()
    assert text_feats['target_feats'].grad is None
    for key in ('feats', 'masked_feats'):
        grad = text_feats[key].grad
        assert grad is not None and grad.abs().sum() > 0, key
    assert inputs[-1].grad is not None and inputs[-1].grad.abs().sum() > 0
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_missing_target_and_bad_config_name_the_fault():
    head = make_head()
    inputs, text_feats = make_inputs()
    del text_feats['target_feats']
    with pytest.raises(KeyError, match='target_feats'):
        head.loss(inputs, text_feats, [], train_cfg=None)
    with pytest.raises(ValueError, match='rec_tokens'):
        make_head(rec_tokens='some')
    with pytest.raises(ValueError, match='channel_reduction'):
        make_head(channel_reduction='max')
    with pytest.raises(TypeError, match='in_channels'):
        make_head(in_channels=IN_CHANNELS)


def test_predict_is_refused():
    head = make_head()
    inputs, text_feats = make_inputs()
    with pytest.raises(RuntimeError, match='training-only'):
        head.predict(inputs, text_feats, [dict(img_shape=(SIZE, SIZE))], test_cfg=None)


def test_is_registered_auxiliary_text_head():
    assert MODELS.get('DMOLSHead') is DMOLSHead
    assert DMOLSHead.takes_text
