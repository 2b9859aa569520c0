"""ExistenceEncoderDecoder: without the head the model is ReferringEncoderDecoder; with it, it
trains (BCE next to the mask losses, gradients into the prototype) and its threshold empties
masks."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.models.segmentors import ExistenceEncoderDecoder, ReferringEncoderDecoder
from mmrrsis.models.utils import gather_text
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
EXPRESSIONS = ['the red vehicle at the top left', 'the blue vehicle at the bottom right',
               'the larger storage tank', 'the white building on the left']
METHODS = ('btdnet', 'lavt')


@pytest.fixture(scope='module')
def cfgs(tmp_path_factory):
    """(plain, _notarget) model configs of the tiny BTDNet and LAVT, with a local vocab."""
    vocab = build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)
    found = {}
    for method in METHODS:
        pair = []
        for suffix in ('', '_notarget'):
            cfg = Config.fromfile(
                osp.join(REPO, 'configs', method, f'{method}_tiny_synthetic{suffix}.py'))
            cfg.model.data_preprocessor.tokenizer = vocab
            pair.append(cfg.model)
        found[method] = pair
    return found


def build(cfg, seed=0, **existence):
    cfg = copy.deepcopy(cfg)
    if existence:
        cfg.existence_head.update(existence)
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def batch(model, has_target=(True, True, False, False), training=True):
    """Four samples of one image; the no-target ones have empty masks."""
    torch.manual_seed(1)
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    masker = KeyPhraseMasker(backend='lexicon')
    samples = []
    for i, (expression, flag) in enumerate(zip(EXPRESSIONS, has_target)):
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        if flag:
            mask[:, 8 + 24 * (i % 2):32 + 24 * (i % 2), 8:40] = 1
        metainfo = dict(expression=expression, img_shape=(64, 64), ori_shape=(64, 64),
                        pad_shape=(64, 64), has_target=flag,
                        key_phrase_spans=masker(dict(expression=expression))['key_phrase_spans'])
        sample = SegDataSample(metainfo=metainfo)
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    data = dict(inputs=[image.clone() for _ in samples], data_samples=samples)
    return model.data_preprocessor(data, training=training)


@pytest.mark.parametrize('method', METHODS)
def test_off_is_the_model_without_the_feature(cfgs, method):
    plain_cfg, notarget_cfg = cfgs[method]
    plain, with_head = build(plain_cfg), build(notarget_cfg)
    assert type(plain) is ReferringEncoderDecoder
    assert isinstance(with_head, ExistenceEncoderDecoder)
    assert not any('existence' in k for k in plain.state_dict())
    # the head is built last: every other weight is initialised as without it
    extra = {k: v for k, v in with_head.state_dict().items() if not k.startswith('existence')}
    assert list(extra) == list(plain.state_dict())
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in extra.items())
    # the losses are the heads' own, as before the switch existed (same seed: BERT's dropout)
    data = batch(plain)
    torch.manual_seed(2)
    losses = plain.loss(**data)
    torch.manual_seed(2)
    text = gather_text([s.text for s in data['data_samples']], 'test')
    x, text_feats = plain.extract_feat(data['inputs'], text)
    head = plain.decode_head
    if getattr(head, 'takes_text', False):
        direct = head.loss(x, text_feats, data['data_samples'], plain.train_cfg)
    else:
        direct = head.loss(x, data['data_samples'], plain.train_cfg)
    expected = {f'decode.{k}': v for k, v in direct.items()}
    if plain.with_auxiliary_head:
        expected.update({f'aux.{k}': v for k, v in plain.auxiliary_head.loss(
            x, text_feats, data['data_samples'], plain.train_cfg).items()})
    assert set(losses) == set(expected)
    assert all(torch.equal(losses[k], expected[k]) for k in expected)
    plain.eval()
    with torch.no_grad():
        results = plain.predict(**batch(plain, training=False))
    assert all('existence_score' not in r for r in results)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('detach', [False, True])
def test_existence_loss_and_its_gradients(cfgs, method, detach):
    """Attached, the existence loss trains the backbone and the query's module too; with
    detach_inputs (the _notarget configs) it trains the head alone."""
    model = build(cfgs[method][1], detach_inputs=detach)
    losses = model.loss(**batch(model))
    plain = build(cfgs[method][0])
    assert set(losses) == set(plain.loss(**batch(plain))) | {'exist.loss_exist', 'exist.acc_exist'}
    losses['exist.loss_exist'].backward()
    backbone_grad = sum(p.grad.abs().sum() for p in model.backbone.parameters()
                        if p.grad is not None)
    assert (backbone_grad > 0) != detach
    if method == 'btdnet':  # the query is the target prototype: its projection learns too
        grad = model.decode_head.fg_proj.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) != detach
    assert all(p.grad is not None for p in model.existence_head.parameters())


def test_existence_head_learns_which_expressions_have_a_target(cfgs):
    model = build(cfgs['lavt'][1], present_weight=1.0)  # this batch is half no-target
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    data = batch(model)
    history = []
    for _ in range(12):
        losses = model.loss(**data)
        optimizer.zero_grad()
        (losses['exist.loss_exist'] + losses['decode.loss_ce']).backward()
        optimizer.step()
        history.append(losses['exist.loss_exist'].item())
    assert history[-1] < 0.5 * history[0]
    assert model.loss(**data)['exist.acc_exist'].item() == 100.0
    # and at inference the no-target pair is answered with an empty mask
    model.eval()
    with torch.no_grad():
        results = model.predict(**batch(model, training=False))
    scores = [float(r.existence_score) for r in results]
    assert min(scores[:2]) > 0.5 > max(scores[2:])
    assert [int(r.pred_sem_seg.data.sum()) == 0 for r in results][2:] == [True, True]


@pytest.mark.parametrize('method', METHODS)
def test_threshold_empties_the_mask(cfgs, method):
    results = {}
    for threshold in (0.0, 1.0):
        model = build(cfgs[method][1], threshold=threshold).eval()
        with torch.no_grad():
            results[threshold] = model.predict(**batch(model, training=False))
    for keep, empty in zip(results[0.0], results[1.0]):
        assert 0 < float(keep.existence_score) < 1
        assert torch.equal(keep.existence_score, empty.existence_score)
        # threshold 0 keeps the decode head's mask: the argmax of its logits
        assert torch.equal(keep.pred_sem_seg.data[0], keep.seg_logits.data.argmax(0))
        # threshold 1: both masks emptied, the logits left as they were
        assert empty.pred_sem_seg.data.sum() == 0 and empty.pred_sem_seg_input.data.sum() == 0
        assert torch.equal(empty.seg_logits.data, keep.seg_logits.data)
    assert sum(int(r.pred_sem_seg.data.sum()) for r in results[0.0]) > 0
    # a threshold between two scores empties only the sample below it
    scores = sorted(float(r.existence_score) for r in results[0.0])
    model = build(cfgs[method][1], threshold=(scores[0] + scores[1]) / 2).eval()
    with torch.no_grad():
        mid = model.predict(**batch(model, training=False))
    emptied = [float(r.existence_score) < model.existence_head.threshold for r in mid]
    assert sum(emptied) == 1
    for r, keep, is_empty in zip(mid, results[0.0], emptied):
        assert torch.equal(r.pred_sem_seg.data, torch.zeros_like(keep.pred_sem_seg.data)
                           if is_empty else keep.pred_sem_seg.data)


def test_slide_windows_keep_the_highest_score(cfgs):
    """Slide inference averages the logits as mmseg does and keeps each sample's highest
    existence logit over the windows."""
    model = build(cfgs['btdnet'][1]).eval()
    model.test_cfg = ConfigDict(mode='slide', crop_size=(32, 64), stride=(32, 64))
    data = batch(model, training=False)

    def metas():
        return [dict(s.metainfo, text=s.text) for s in data['data_samples']]

    inputs = data['inputs']
    with torch.no_grad():
        merged = model.inference_outputs(inputs, metas())
        top = model.encode_decode_outputs(inputs[:, :, :32], metas())['existence_logits']
        bottom = model.encode_decode_outputs(inputs[:, :, 32:], metas())['existence_logits']
        stock = super(ReferringEncoderDecoder, model).slide_inference(inputs, metas())
    assert torch.equal(merged['existence_logits'], torch.maximum(top, bottom))
    assert torch.equal(merged['seg_logits'], stock)


def test_query_output_is_checked(cfgs):
    with pytest.raises(ValueError, match="query_output='no_such' is no output of TBTDHead"):
        build(cfgs['btdnet'][1], query_output='no_such')
    with pytest.raises(ValueError, match='is no output of LAVTHead'):
        build(cfgs['lavt'][1], query_output='target_prototype', query_channels=8)
    # the existence head makes the model an ExistenceEncoderDecoder, by name
    cfg = copy.deepcopy(cfgs['lavt'][1])
    cfg.type = 'ReferringEncoderDecoder'
    with pytest.raises(TypeError, match="type='ExistenceEncoderDecoder'"):
        MODELS.build(cfg)


def _decode_losses(model, data, keep):
    """The decode head's losses on the samples ``keep``, after one forward of the batch."""
    text = gather_text([s.text for s in data['data_samples']], 'test')
    x, text_feats = model.extract_feat(data['inputs'], text)
    head = model.decode_head
    logits = head.forward(x, text_feats) if getattr(head, 'takes_text', False) else head.forward(x)
    samples = [data['data_samples'][i] for i in keep]
    return {f'decode.{k}': v for k, v in head.loss_by_feat(logits[keep], samples).items()}


@pytest.mark.parametrize('method', METHODS)
def test_mask_losses_score_the_target_samples_only(cfgs, method):
    """Default: the mask losses see only the samples with a target; with
    no_target_mask_loss=True they see the whole batch, as without the head."""
    model = build(cfgs[method][1])
    data = batch(model)

    def seeded(fn, *args):  # the same dropout draws in every forward
        torch.manual_seed(2)
        with torch.no_grad():
            return fn(*args)

    losses = seeded(lambda: model.loss(**data))
    expected = seeded(_decode_losses, model, data, [0, 1])
    whole = seeded(_decode_losses, model, data, [0, 1, 2, 3])
    other = build(cfgs[method][1], no_target_mask_loss=True)
    kept = seeded(lambda: other.loss(**data))
    for name in expected:
        assert torch.allclose(losses[name], expected[name]), name
        assert torch.allclose(kept[name], whole[name]), name
    assert not all(torch.allclose(expected[n], whole[n]) for n in expected if 'loss' in n)
    # the auxiliary D-MOLS head reconstructs text: it still sees every sample
    if model.with_auxiliary_head:
        assert torch.allclose(losses['aux.loss_rec'], kept['aux.loss_rec'])


@pytest.mark.parametrize('method', METHODS)
def test_a_batch_without_targets_has_zero_mask_losses(cfgs, method):
    model = build(cfgs[method][1])
    data = batch(model, has_target=(False, False, False, False))
    for s in data['data_samples']:
        s.gt_sem_seg.data.zero_()
    losses = model.loss(**data)
    plain = build(cfgs[method][0])
    assert set(losses) == set(plain.loss(**batch(plain))) | {'exist.loss_exist', 'exist.acc_exist'}
    mask_losses = [v for k, v in losses.items() if k.startswith('decode.loss')]
    assert mask_losses and all(v.item() == 0 and v.requires_grad for v in mask_losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()  # still one graph
    assert all(p.grad is not None for p in model.existence_head.parameters())


def test_mask_evidence_is_the_decode_heads_own_logits(cfgs):
    """With mask_evidence the existence head reads the logits the decode head scores, and its
    loss trains the decode head unless detach_mask."""
    for detach in (False, True):
        model = build(cfgs['lavt'][1], mask_evidence=True, detach_mask=detach,
                      detach_inputs=False)
        seen = []
        model.existence_head.register_forward_hook(
            lambda module, args, output: seen.append(args[3]))
        data = batch(model)
        losses = model.loss(**data)
        assert seen[0].shape == (4, 2, 16, 16)  # LAVTHead's logits at 1/4 of the input
        losses['exist.loss_exist'].backward()
        grads = [p.grad for n, p in model.decode_head.named_parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads) != detach
    # at inference the same logits: the existence score is a function of them
    model.eval()
    seen.clear()
    with torch.no_grad():
        results = model.predict(**batch(model, training=False))
    assert len(seen) == 1 and all('existence_score' in r for r in results)
