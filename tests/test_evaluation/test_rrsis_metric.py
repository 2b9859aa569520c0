import pytest
import torch
from mmengine.structures import PixelData

from mmrrsis.evaluation import RRSISMetric
from mmseg.structures import SegDataSample


def make_sample(pred, gt, img_shape=None, category=None, expression='the road',
                pred_input=None, has_target=None):
    """A ``SegDataSample.to_dict()`` as the evaluator hands it to ``process``; with
    ``pred_input`` also the input-size prediction, as ReferringEncoderDecoder writes it, and
    with ``has_target`` that metainfo (NoTargetDataset's no-target samples)."""
    pred = torch.as_tensor(pred, dtype=torch.int64)
    gt = torch.as_tensor(gt, dtype=torch.int64)
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=pred[None])
    sample.gt_sem_seg = PixelData(data=gt[None])
    if pred_input is not None:
        sample.pred_sem_seg_input = PixelData(
            data=torch.as_tensor(pred_input, dtype=torch.int64)[None])
        sample.pred_sem_seg.set_metainfo(dict(has_input_pred=True))
    metainfo = dict(img_shape=img_shape or tuple(gt.shape), ori_shape=tuple(gt.shape),
                    expression=expression)
    if category is not None:
        metainfo['category'] = category
    if has_target is not None:
        metainfo['has_target'] = has_target
    sample.set_metainfo(metainfo)
    return sample.to_dict()


def zeros(h=4, w=4):
    return torch.zeros(h, w, dtype=torch.int64)


def run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


# Sample A: pred = top-left 2×2 (4 px), gt = top 2 rows (8 px) -> I = 4, U = 8, IoU = 0.5.
PRED_A, GT_A = zeros(), zeros()
PRED_A[:2, :2] = 1
GT_A[:2] = 1
# Sample B: pred = everything (16 px), gt = row 0 (4 px) -> I = 4, U = 16, IoU = 0.25.
PRED_B, GT_B = torch.ones(4, 4, dtype=torch.int64), zeros()
GT_B[0] = 1
# Sample C: pred = gt = 3 px of row 3 -> I = 3, U = 3, IoU = 1.
PRED_C, GT_C = zeros(), zeros()
PRED_C[3, :3] = 1
GT_C[3, :3] = 1


def test_hand_computed_values():
    metrics = run(RRSISMetric(), [make_sample(PRED_A, GT_A), make_sample(PRED_B, GT_B),
                                  make_sample(PRED_C, GT_C)])
    # oIoU = (4 + 4 + 3) / (8 + 16 + 3) = 11 / 27; mIoU = (0.5 + 0.25 + 1) / 3.
    assert metrics['oIoU'] == pytest.approx(100 * 11 / 27)
    assert metrics['mIoU'] == pytest.approx(100 * 1.75 / 3)
    # IoU >= 0.5: A (exactly 0.5) and C; IoU >= 0.6 ... 0.9: C only.
    assert metrics['Pr@0.5'] == pytest.approx(100 * 2 / 3)
    for key in ('Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9'):
        assert metrics[key] == pytest.approx(100 / 3)
    assert list(metrics) == ['oIoU', 'mIoU', 'Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9',
                             'num_samples']
    assert metrics['num_samples'] == 3
    assert all(type(v) is float for v in metrics.values())


def test_empty_union_scores_zero_but_counts():
    # Empty pred and empty gt: I = 0, U = 0 -> IoU 0; C: I = 3, U = 3 -> IoU 1.
    metrics = run(RRSISMetric(), [make_sample(zeros(), zeros()), make_sample(PRED_C, GT_C)])
    assert metrics['oIoU'] == pytest.approx(100.0)  # 3 / 3
    assert metrics['mIoU'] == pytest.approx(50.0)  # (0 + 1) / 2
    assert metrics['Pr@0.5'] == pytest.approx(50.0)


def test_all_empty_and_no_samples_give_zero():
    metrics = run(RRSISMetric(), [make_sample(zeros(), zeros())])
    assert metrics['oIoU'] == 0.0 and metrics['mIoU'] == 0.0 and metrics['Pr@0.5'] == 0.0
    metrics = RRSISMetric().compute_metrics([])
    assert metrics['oIoU'] == 0.0 and metrics['mIoU'] == 0.0 and metrics['Pr@0.9'] == 0.0


@pytest.mark.parametrize('intersection, hit', [(5000, True), (4999, False)])
def test_threshold_edge(intersection, hit):
    # gt = all 100×100 px, pred = its first `intersection` px -> U = 10000, IoU = I / 10000.
    gt = torch.ones(100, 100, dtype=torch.int64)
    pred = torch.zeros(10000, dtype=torch.int64)
    pred[:intersection] = 1
    metrics = run(RRSISMetric(), [make_sample(pred.view(100, 100), gt)])
    assert metrics['mIoU'] == pytest.approx(intersection / 100)
    assert metrics['Pr@0.5'] == (100.0 if hit else 0.0)
    assert metrics['Pr@0.6'] == 0.0


def test_custom_thresholds():
    # I = 3, U = 10: IoU = 0.3 exactly at the threshold.
    gt = torch.ones(2, 5, dtype=torch.int64)
    pred = torch.zeros(2, 5, dtype=torch.int64)
    pred[0, :3] = 1
    metrics = run(RRSISMetric(iou_thrs=(0.3, 0.35)), [make_sample(pred, gt)])
    assert metrics['Pr@0.3'] == 100.0
    assert metrics['Pr@0.35'] == 0.0
    assert 'Pr@0.5' not in metrics


def test_ignore_index_excluded():
    # pred = everything; gt: row 0 = 1, row 3 = 255 (ignored), rows 1-2 = 0.
    # Valid pixels are rows 0-2 (12 px): I = 4 (row 0), U = 12 -> IoU = 1/3.
    gt = zeros()
    gt[0] = 1
    gt[3] = 255
    metric = RRSISMetric()
    metrics = run(metric, [make_sample(torch.ones(4, 4, dtype=torch.int64), gt)])
    assert metric.results == [(4, 12, -1, 1, 12)]  # 12 valid pixels predicted
    assert metrics['oIoU'] == pytest.approx(100 / 3)
    # A custom ignore_index: 255 then counts as foreground -> I = 8, U = 16.
    metric = RRSISMetric(ignore_index=7)
    run(metric, [make_sample(torch.ones(4, 4, dtype=torch.int64), gt)])
    assert metric.results == [(8, 16, -1, 1, 16)]


# A non-square image whose original size (7×5) differs from the input size (4×6).
# GT (ori 7×5): target rows 2-4 × cols 1-3 (9 px), (6, 4) ignored.
GT_7X5 = torch.zeros(7, 5, dtype=torch.int64)
GT_7X5[2:5, 1:4] = 1
GT_7X5[6, 4] = 255
# Prediction at the original size (what 'original' scores): row 2, cols 1-4 (4 px).
PRED_7X5 = torch.zeros(7, 5, dtype=torch.int64)
PRED_7X5[2, 1:5] = 1
# Prediction at the input size (argmax of the 4×6 logits, what 'input' scores).
PRED_4X6 = torch.tensor([[0, 0, 0, 0, 0, 0],
                         [0, 0, 1, 1, 1, 1],
                         [0, 0, 1, 1, 1, 1],
                         [0, 0, 0, 0, 0, 1]])


def test_input_resolution_scores_the_input_size_prediction():
    # GT resized to 4×6 by centre-aligned nearest (PIL NEAREST): row i reads GT row
    # floor((i + 0.5) * 7 / 4) = 0, 2, 4, 6; column j reads floor((j + 0.5) * 5 / 6) =
    # 0, 1, 2, 2, 3, 4. So
    #   0 0 0 0 0 0
    #   0 1 1 1 1 0
    #   0 1 1 1 1 0
    #   0 0 0 0 0 255
    # With PRED_4X6 and (3, 5) ignored: pred 8 px, gt 8 px, I = 6 (rows 1-2, cols 2-4),
    # U = 10. (Corner-aligned nearest would read rows 0, 1, 3, 5 and give other counts.)
    sample = make_sample(PRED_7X5, GT_7X5, img_shape=(4, 6), pred_input=PRED_4X6)
    metric = RRSISMetric(eval_resolution='input')
    metrics = run(metric, [sample])
    assert metric.results == [(6, 10, -1, 1, 8)]
    assert metrics['mIoU'] == pytest.approx(60.0)
    # 'original' on the same sample ignores pred_sem_seg_input: PRED_7X5 against GT_7X5,
    # I = 3 (row 2, cols 1-3), U = 9 + 4 - 3 = 10.
    metric = RRSISMetric(eval_resolution='original')
    run(metric, [sample])
    assert metric.results == [(3, 10, -1, 1, 4)]


def test_input_resolution_refuses_unusable_samples():
    metric = RRSISMetric(eval_resolution='input')
    with pytest.raises(ValueError, match="the road.*no pred_sem_seg_input.*'original'"):
        metric.process({}, [make_sample(PRED_7X5, GT_7X5, img_shape=(4, 6))])
    # an input-size prediction that does not fill img_shape: padding metainfo was wrong
    with pytest.raises(ValueError, match=r'the road.*\(4, 5\).*img_shape is \(4, 6\)'):
        metric.process({}, [make_sample(PRED_7X5, GT_7X5, img_shape=(4, 6),
                                        pred_input=PRED_4X6[:, :5])])
    # pred_sem_seg replaced after the segmentor wrote both (as a TTA merge does)
    sample = make_sample(PRED_7X5, GT_7X5, img_shape=(4, 6), pred_input=PRED_4X6)
    del sample['pred_sem_seg']['has_input_pred']
    with pytest.raises(ValueError, match='the road.*replaced'):
        metric.process({}, [sample])
    assert metric.results == []


def test_per_category(monkeypatch):
    logged = []
    monkeypatch.setattr('mmrrsis.evaluation.metrics.rrsis_metric.print_log',
                        lambda msg, **kwargs: logged.append(msg))
    metric = RRSISMetric(per_category=True)
    metrics = run(metric, [
        make_sample(PRED_A, GT_A, category='road'),  # I = 4, U = 8
        make_sample(PRED_B, GT_B, category='car'),  # I = 4, U = 16
        make_sample(PRED_C, GT_C, category='road'),  # I = 3, U = 3
        make_sample(zeros(), GT_C),  # no category: I = 0, U = 3, overall only
    ])
    assert [r[2] for r in metric.results] == [0, 1, 0, -1]
    # road: oIoU = 7 / 11, mIoU = (0.5 + 1) / 2; car: 4 / 16 both.
    assert metrics['oIoU/road'] == pytest.approx(100 * 7 / 11)
    assert metrics['mIoU/road'] == pytest.approx(75.0)
    assert metrics['oIoU/car'] == pytest.approx(25.0)
    assert metrics['mIoU/car'] == pytest.approx(25.0)
    # Overall still over all 4 samples: (4 + 4 + 3 + 0) / (8 + 16 + 3 + 3).
    assert metrics['oIoU'] == pytest.approx(100 * 11 / 30)
    assert metrics['mIoU'] == pytest.approx(100 * 1.75 / 4)
    assert len(logged) == 1 and 'road' in logged[0] and 'car' in logged[0]
    assert '63.64' in logged[0]  # road oIoU in the table


def test_per_category_uses_dataset_categories():
    metric = RRSISMetric(per_category=True)
    metric.dataset_meta = dict(classes=('background', 'object'),
                               categories=('airplane', 'ship', 'vehicle'))
    metrics = run(metric, [make_sample(PRED_A, GT_A, category='vehicle'),
                           make_sample(PRED_C, GT_C, category='airplane')])
    assert [r[2] for r in metric.results] == [2, 0]
    # Table and keys follow the dataset's category order; unseen 'ship' is left out.
    assert [k for k in metrics if '/' in k] == ['oIoU/airplane', 'mIoU/airplane',
                                                'oIoU/vehicle', 'mIoU/vehicle']
    assert metrics['mIoU/vehicle'] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="'bridge'.*dataset_meta"):
        metric.process({}, [make_sample(PRED_A, GT_A, category='bridge')])


def test_per_category_off_ignores_category():
    metric = RRSISMetric()
    metrics = run(metric, [make_sample(PRED_A, GT_A, category='road')])
    assert metric.results == [(4, 8, -1, 1, 4)]
    assert not any('/' in k for k in metrics)


def test_results_hold_only_small_tuples():
    metric = RRSISMetric(per_category=True)
    metric.process({}, [make_sample(PRED_A, GT_A, category='road'),
                        make_sample(PRED_B, GT_B, category='car')])
    assert metric.results == [(4, 8, 0, 1, 4), (4, 16, 1, 1, 16)]
    for result in metric.results:
        assert type(result) is tuple and len(result) == 5
        assert all(type(v) is int for v in result)


def test_invalid_args():
    with pytest.raises(ValueError, match=r"eval_resolution.*'original'.*'input'.*'resized'"):
        RRSISMetric(eval_resolution='resized')
    with pytest.raises(ValueError, match='iou_thrs'):
        RRSISMetric(iou_thrs=(0.5, 1.5))


def test_size_mismatch_names_sample():
    with pytest.raises(ValueError, match='the road'):
        RRSISMetric().process({}, [make_sample(zeros(4, 4), zeros(4, 5))])


def test_evaluate_counts_exactly_dataset_size():
    # Three perfect samples plus two sampler-padding duplicates that would score 0:
    # evaluate(3) keeps only the first three.
    metric = RRSISMetric(prefix='rrsis')
    metric.dataset_meta = dict(classes=('background', 'object'))
    samples = [make_sample(PRED_C, GT_C)] * 3 + [make_sample(zeros(), GT_C)] * 2
    metric.process({}, samples)
    metrics = metric.evaluate(3)
    assert metrics['rrsis/mIoU'] == pytest.approx(100.0)
    assert metrics['rrsis/oIoU'] == pytest.approx(100.0)  # 9 / 9
    assert metric.results == []
    metric.process({}, samples)
    metrics = metric.evaluate(5)
    assert metrics['rrsis/mIoU'] == pytest.approx(60.0)  # 3 of 5
    assert metrics['rrsis/oIoU'] == pytest.approx(100 * 9 / 15)


def test_build_from_registry():
    import mmrrsis.evaluation  # noqa: F401
    from mmrrsis.registry import METRICS

    metric = METRICS.build(dict(type='RRSISMetric'))
    assert isinstance(metric, RRSISMetric)
    assert metric.eval_resolution == 'original'
    metric = METRICS.build(dict(type='RRSISMetric', eval_resolution='input', per_category=True))
    assert metric.eval_resolution == 'input' and metric.per_category


# No-target samples: empty GT. N_EMPTY is predicted empty, N_PAINTED paints 2 px.
PRED_2PX = zeros()
PRED_2PX[1, 1:3] = 1


def no_target(pred):
    return make_sample(pred, zeros(), has_target=False, category='car')


GENERALIZED = ['N-acc', 'T-acc', 'gIoU', 'cIoU', 'num_no_target']


def test_all_target_samples_keep_the_old_output():
    # has_target=True given explicitly changes nothing: same keys and values as without it.
    samples = [make_sample(PRED_A, GT_A, has_target=True), make_sample(PRED_B, GT_B),
               make_sample(PRED_C, GT_C, has_target=True)]
    metrics = run(RRSISMetric(), samples)
    assert list(metrics) == ['oIoU', 'mIoU', 'Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9',
                             'num_samples']
    assert metrics['oIoU'] == pytest.approx(100 * 11 / 27)
    assert metrics['mIoU'] == pytest.approx(100 * 1.75 / 3)


def test_all_no_target_samples():
    # Predictions: empty, empty, 2 px. N-acc = 2/3; no target sample: T-acc and the
    # target-sample figures are 0; gIoU = (1 + 1 + 0) / 3; cIoU = 0 / 2.
    metric = RRSISMetric()
    metrics = run(metric, [no_target(zeros()), no_target(zeros()), no_target(PRED_2PX)])
    assert metric.results[2] == (0, 2, -1, 0, 2)
    assert metrics['N-acc'] == pytest.approx(100 * 2 / 3)
    assert metrics['T-acc'] == 0.0
    assert metrics['gIoU'] == pytest.approx(100 * 2 / 3)
    assert metrics['cIoU'] == 0.0
    assert metrics['oIoU'] == metrics['mIoU'] == metrics['Pr@0.5'] == 0.0
    assert metrics['num_no_target'] == 3 and metrics['num_samples'] == 3


def test_mixed_target_and_no_target_samples():
    # Targets: A (I 4, U 8), B (I 4, U 16), C predicted empty (I 0, U 3).
    # No-target: one predicted empty (U 0), one painting 2 px (U 2).
    samples = [make_sample(PRED_A, GT_A), make_sample(PRED_B, GT_B), make_sample(zeros(), GT_C),
               no_target(zeros()), no_target(PRED_2PX)]
    metrics = run(RRSISMetric(), samples)
    # on the target samples only
    assert metrics['oIoU'] == pytest.approx(100 * 8 / 27)
    assert metrics['mIoU'] == pytest.approx(100 * 0.75 / 3)
    assert metrics['Pr@0.5'] == pytest.approx(100 / 3)
    # generalized: N-acc 1/2, T-acc 2/3, gIoU (0.5 + 0.25 + 0 + 1 + 0) / 5, cIoU 8 / 29
    assert metrics['N-acc'] == pytest.approx(50.0)
    assert metrics['T-acc'] == pytest.approx(100 * 2 / 3)
    assert metrics['gIoU'] == pytest.approx(100 * 1.75 / 5)
    assert metrics['cIoU'] == pytest.approx(100 * 8 / 29)
    assert list(metrics)[7:] == GENERALIZED + ['num_samples']
    assert metrics['num_no_target'] == 2 and metrics['num_samples'] == 5
    assert all(type(v) is float for v in metrics.values())


def test_all_predictions_empty():
    # A model that always answers "nothing": every no-target sample right, every target wrong.
    samples = [make_sample(zeros(), GT_A), make_sample(zeros(), GT_C), no_target(zeros())]
    metrics = run(RRSISMetric(), samples)
    assert metrics['N-acc'] == 100.0 and metrics['T-acc'] == 0.0
    assert metrics['gIoU'] == pytest.approx(100 / 3)
    assert metrics['cIoU'] == 0.0 and metrics['mIoU'] == 0.0


def test_all_predictions_present():
    # A model that always paints something: T-acc 100, N-acc 0.
    samples = [make_sample(PRED_A, GT_A), make_sample(PRED_C, GT_C), no_target(PRED_2PX),
               no_target(PRED_B)]
    metrics = run(RRSISMetric(), samples)
    assert metrics['N-acc'] == 0.0 and metrics['T-acc'] == 100.0
    assert metrics['gIoU'] == pytest.approx(100 * 1.5 / 4)
    # cIoU = (4 + 3) / (8 + 3 + 2 + 16)
    assert metrics['cIoU'] == pytest.approx(100 * 7 / 29)
    assert metrics['mIoU'] == pytest.approx(75.0)


def test_per_category_counts_target_samples_only():
    metric = RRSISMetric(per_category=True)
    metric.dataset_meta = dict(classes=('background', 'object'), categories=('car', 'road'))
    metrics = run(metric, [make_sample(PRED_A, GT_A, category='car'), no_target(PRED_2PX)])
    assert metrics['oIoU/car'] == pytest.approx(50.0) and metrics['mIoU/car'] == 50.0
    assert metric.results[1][2] == 0  # the no-target sample's category is still recorded


def test_input_resolution_with_no_target_samples():
    # 'input' scores pred_sem_seg_input: empty there although pred_sem_seg paints 4 px.
    sample = make_sample(PRED_7X5, torch.zeros(7, 5, dtype=torch.int64), img_shape=(4, 6),
                         pred_input=torch.zeros(4, 6, dtype=torch.int64), has_target=False)
    metrics = run(RRSISMetric(eval_resolution='input'), [sample, make_sample(
        PRED_7X5, GT_7X5, img_shape=(4, 6), pred_input=PRED_4X6)])
    assert metrics['N-acc'] == 100.0 and metrics['T-acc'] == 100.0
    assert metrics['gIoU'] == pytest.approx(100 * (1 + 0.6) / 2)


@pytest.mark.parametrize('pred', [zeros(), torch.ones(4, 4, dtype=torch.int64)])
def test_no_target_sample_with_a_gt_is_refused(pred):
    # also when the prediction covers the GT (then U equals the predicted pixels)
    with pytest.raises(ValueError, match='the road.*has_target=False but a non-empty GT'):
        RRSISMetric().process({}, [make_sample(pred, GT_A, has_target=False)])
