"""init_model / inference_model / RRSISInferencer on a tiny random BTDNet."""
import os
import os.path as osp
import pickle

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmrrsis.apis import RRSISInferencer, inference_model, init_model, pred_mask, show_result
from mmrrsis.datasets import RefSegRSDataset


def _image(height, width, seed=0):
    """A smooth BGR picture: colour ramps plus a bright square."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1),
                    np.full_like(x, 90)], axis=-1).astype(np.uint8)
    y0, x0 = rng.integers(0, height // 2), rng.integers(0, width // 2)
    img[y0:y0 + height // 3, x0:x0 + width // 3] = (40, 40, 220)
    return img


class _NotAllowed:
    pass


def _assert_same_up_to_ties(mask, result, margin=1e-3):
    """Batched and single runs round differently: masks may differ only where fg ≈ bg."""
    expected = pred_mask(result)
    assert mask.shape == expected.shape
    logits = result.seg_logits.data
    ties = ((logits[1] - logits[0]).abs() < margin).numpy()
    differ = mask != expected
    assert not (differ & ~ties).any(), f'{differ.sum()} pixels differ, not all at fg/bg ties'
    assert differ.mean() < 1e-3


def test_init_model_loads_weights_and_dataset_meta(tiny_model, tiny_checkpoint):
    saved = torch.load(tiny_checkpoint['checkpoint'], weights_only=True)['state_dict']
    state = tiny_model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved.items())
    assert tiny_model.dataset_meta['palette'] == [[0, 0, 0], [0, 255, 0]]
    assert not tiny_model.training
    random = init_model(tiny_checkpoint['config'], cfg_options=tiny_checkpoint['cfg_options'])
    assert random.dataset_meta['classes'] == RefSegRSDataset.METAINFO['classes']
    steps = [type(t).__name__ for t in tiny_model.inference_pipeline.transforms]
    assert 'LoadReferringAnnotations' not in steps and 'KeyPhraseMasker' in steps


def test_init_model_with_checkpoint_reads_no_pretrained_weights(tiny_checkpoint, tmp_path):
    """A pretrained-BERT config only needs BERT's config.json when a checkpoint is given."""
    from transformers import BertConfig
    cfg = Config.fromfile(tiny_checkpoint['config'])
    folder = str(tmp_path / 'bert_config_only')
    BertConfig(**cfg.model.backbone.text.bert_config).save_pretrained(folder)
    options = dict(tiny_checkpoint['cfg_options'])
    options.update({'model.backbone.text.pretrained': True,
                    'model.backbone.text.name_or_path': folder})
    model = init_model(tiny_checkpoint['config'], tiny_checkpoint['checkpoint'],
                       cfg_options=options)
    saved = torch.load(tiny_checkpoint['checkpoint'], weights_only=True)['state_dict']
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved.items())
    with pytest.raises(OSError):  # without a checkpoint, init_weights wants the weights
        init_model(tiny_checkpoint['config'], cfg_options=options)


def test_init_model_refuses_unsafe_pickles(tiny_checkpoint, tmp_path):
    unsafe = str(tmp_path / 'unsafe.pth')
    torch.save({'state_dict': {}, 'meta': {'payload': _NotAllowed()}}, unsafe)
    with pytest.raises(pickle.UnpicklingError):
        init_model(tiny_checkpoint['config'], unsafe, cfg_options=tiny_checkpoint['cfg_options'])


def test_mask_at_original_size_for_arrays_and_files(tiny_model, tmp_path):
    image = _image(70, 90)
    result = inference_model(tiny_model, image, 'the red vehicle at the top left')
    assert result.pred_sem_seg.data.shape == (1, 70, 90)
    assert result.seg_logits.data.shape == (2, 70, 90)
    assert result.img_shape == (64, 64) and result.ori_shape == (70, 90)
    assert set(result.pred_sem_seg.data.unique().tolist()) <= {0, 1}
    assert torch.equal(result.pred_sem_seg.data[0], result.seg_logits.data.argmax(0))
    # the tiny config's test pipeline has KeyPhraseMasker (lexicon): "the red vehicle"
    assert result.key_phrase_spans == [(0, 15)]
    path = str(tmp_path / 'scene.png')
    mmcv.imwrite(image, path)  # BGR array -> file; mmcv reads it back as the same BGR array
    from_file = inference_model(tiny_model, path, 'the red vehicle at the top left')
    assert torch.equal(from_file.seg_logits.data, result.seg_logits.data)
    assert from_file.img_path == path


def test_lists_are_one_batch(tiny_model):
    pairs = [(_image(70, 90), 'the red vehicle at the top left'),
             (_image(48, 40, seed=1), 'the white building on the right'),
             (_image(70, 90), 'the largest tree')]
    results = inference_model(tiny_model, pairs)
    assert [r.pred_sem_seg.data.shape[1:] for r in results] == [(70, 90), (48, 40), (70, 90)]
    assert [r.expression for r in results] == [e for _, e in pairs]
    for (image, expression), batched in zip(pairs, results):
        alone = inference_model(tiny_model, image, expression)
        assert torch.allclose(alone.seg_logits.data, batched.seg_logits.data, atol=1e-4)
    same = inference_model(tiny_model, [p[0] for p in pairs], [p[1] for p in pairs])
    assert all(torch.equal(a.seg_logits.data, b.seg_logits.data) for a, b in zip(same, results))
    dicts = inference_model(tiny_model, [{'img': i, 'expression': e} for i, e in pairs])
    assert all(torch.equal(a.seg_logits.data, b.seg_logits.data) for a, b in zip(dicts, results))


@pytest.mark.parametrize('args, error', [
    ((np.zeros((8, 8, 3), np.uint8), '  '), ValueError),
    ((np.zeros((8, 8), np.uint8), 'the car'), ValueError),
    ((np.zeros((8, 8, 3), np.float32), 'the car'), ValueError),
    ((np.zeros((8, 8, 3), np.uint8), ), TypeError),
    (([np.zeros((8, 8, 3), np.uint8)], ['a car', 'a bus']), ValueError),
])
def test_bad_inputs_are_named(tiny_model, args, error):
    with pytest.raises(error):
        inference_model(tiny_model, *args)


def test_show_result_draws_overlay_with_caption(tiny_model, tmp_path):
    image = _image(70, 90)
    result = inference_model(tiny_model, image, 'the red vehicle')
    out_file = str(tmp_path / 'overlay.png')
    picture = show_result(tiny_model, image, result, out_file=out_file)
    # scaled x3 to reach 256 px wide, one panel (prediction), caption strip below
    assert picture.shape[1] == 270 and picture.shape[0] > 210
    assert mmcv.imread(out_file).shape == picture.shape


def test_inferencer_batches_and_writes_files(tiny_checkpoint, tiny_model, tmp_path):
    cfg = Config.fromfile(tiny_checkpoint['config'])
    cfg.merge_from_dict(tiny_checkpoint['cfg_options'])
    inferencer = RRSISInferencer(cfg, tiny_checkpoint['checkpoint'], device='cpu')
    path = str(tmp_path / 'a.png')
    mmcv.imwrite(_image(70, 90), path)
    inputs = [(path, 'the red vehicle'), {'img': _image(48, 40, 1), 'expression': 'the tree'},
              (path, 'the white building on the right')]
    out = inferencer(inputs, batch_size=2, out_dir=str(tmp_path / 'out'), return_vis=True)
    assert [m.shape for m in out['predictions']] == [(70, 90), (48, 40), (70, 90)]
    assert len(out['visualization']) == 3
    expected = inference_model(tiny_model, [(i['img'], i['expression']) if isinstance(i, dict)
                                            else i for i in inputs])
    for mask, result in zip(out['predictions'], expected):
        _assert_same_up_to_ties(mask, result)
    assert sorted(os.listdir(tmp_path / 'out' / 'vis')) == [
        '000000_a.png', '000001_array.png', '000002_a.png']
    assert sorted(os.listdir(tmp_path / 'out' / 'pred')) == [
        '000000_a_mask.png', '000001_array_mask.png', '000002_a_mask.png']
    written = mmcv.imread(osp.join(tmp_path, 'out', 'pred', '000000_a_mask.png'), 'grayscale')
    np.testing.assert_array_equal(written, out['predictions'][0] * 255)
    single = inferencer((path, 'the red vehicle'))
    _assert_same_up_to_ties(single['predictions'], expected[0])


def test_existence_score_comes_with_the_mask(tiny_notarget_model, tiny_model):
    from mmrrsis.apis import existence_score
    image = _image(48, 60)
    result = inference_model(tiny_notarget_model, image, 'the red vehicle at the top left')
    score = existence_score(result)
    assert isinstance(score, float) and 0 < score < 1
    assert torch.equal(result.existence_score, torch.tensor(score))
    threshold = tiny_notarget_model.existence_head.threshold
    assert (pred_mask(result).sum() == 0) or score >= threshold
    assert pred_mask(result).shape == (48, 60)
    assert existence_score(inference_model(tiny_model, image, 'the red car')) is None
    # the inference pipeline is the test dataset's, found inside the NoTargetDataset wrapper
    steps = [type(t).__name__ for t in tiny_notarget_model.inference_pipeline.transforms]
    assert steps[0] == 'ArrayOrFileLoader' and 'KeyPhraseMasker' in steps
    assert 'LoadReferringAnnotations' not in steps


def test_inferencer_gives_the_existence_scores(tiny_notarget_checkpoint, tiny_notarget_model,
                                              tiny_checkpoint):
    cfg = Config.fromfile(tiny_notarget_checkpoint['config'])
    cfg.merge_from_dict(tiny_notarget_checkpoint['cfg_options'])
    inferencer = RRSISInferencer(cfg, tiny_notarget_checkpoint['checkpoint'], device='cpu')
    from mmrrsis.apis import existence_score
    inputs = [(_image(40, 50), 'the red vehicle'), (_image(40, 50, 1), 'the white building')]
    out = inferencer(inputs, batch_size=2)
    expected = [existence_score(r) for r in inference_model(tiny_notarget_model, inputs)]
    assert out['existence_scores'] == pytest.approx(expected, abs=1e-5)
    single = inferencer(inputs[0])
    assert single['existence_scores'] == pytest.approx(expected[0], abs=1e-5)
    # a model without the head gives no scores
    plain = Config.fromfile(tiny_checkpoint['config'])
    plain.merge_from_dict(tiny_checkpoint['cfg_options'])
    assert 'existence_scores' not in RRSISInferencer(plain, tiny_checkpoint['checkpoint'],
                                                     device='cpu')(inputs[0])


def test_threshold_set_at_init_empties_the_mask(tiny_notarget_checkpoint):
    image = _image(48, 60)
    masks = {}
    for threshold in (0.0, 1.0):
        options = dict(tiny_notarget_checkpoint['cfg_options'],
                       **{'model.existence_head.threshold': threshold})
        model = init_model(tiny_notarget_checkpoint['config'],
                           tiny_notarget_checkpoint['checkpoint'], cfg_options=options)
        masks[threshold] = pred_mask(inference_model(model, image, 'the white building'))
    assert masks[0.0].sum() > 0 and masks[1.0].sum() == 0
