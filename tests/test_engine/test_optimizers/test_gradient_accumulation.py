"""Four accumulated batches of 2 against one batch of 8 on the tiny LAVT (batch semantics)."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import BaseDataElement, PixelData
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def tiny_lavt(tmp_path, class_weight):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic.py'))
    cfg.model.data_preprocessor.tokenizer = build_vocab(['a car'], str(tmp_path), 50)
    cfg.model.decode_head.loss_decode.class_weight = class_weight
    # no dropout (BERT's attention dropout acts inside its training-mode attention call)
    cfg.model.backbone.text.bert_config.update(hidden_dropout_prob=0.0,
                                               attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).double()  # float64: what is left is the method, not rounding


def batch(gen, size):
    inputs = torch.randn(size, 3, 64, 64, generator=gen, dtype=torch.float64)
    samples = []
    for _ in range(size):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                             pad_shape=(64, 64)))
        ids = torch.randint(5, 40, (20, ), generator=gen)
        mask = (torch.arange(20) < torch.randint(3, 20, (1, ), generator=gen)).long()
        sample.text = BaseDataElement(input_ids=ids * mask, attention_mask=mask,
                                      masked_ids=ids * mask)
        target = torch.zeros(1, 64, 64, dtype=torch.long)
        y, x = torch.randint(0, 40, (2, ), generator=gen)
        h, w = torch.randint(2, 24, (2, ), generator=gen)  # target shares differ per sample
        target[:, y:y + h, x:x + w] = 1
        sample.gt_sem_seg = PixelData(data=target)
        samples.append(sample)
    return inputs, samples


def step(model, micro_batches, accumulate):
    """One update with ``accumulate`` micro-batches; SGD with lr 1 so that the update is the
    (accumulated) gradient itself."""
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=1.0), accumulative_counts=accumulate))
    model.train()
    for module in model.modules():  # batch statistics would depend on the micro-batch size
        if isinstance(module, _BatchNorm):
            module.eval()
    for inputs, samples in micro_batches:
        with wrapper.optim_context(model):
            loss, _ = model.parse_losses(model.loss(inputs, samples))
        wrapper.update_params(loss)


def relative_update_difference(model, one, four):
    """Largest |one - four| of a tensor over its largest update; tensors whose true gradient is
    zero (a bias before an instance norm or a softmax over words) move by float noise alone and
    are measured against 1e-4 of the largest update of the model instead."""
    pairs = [((a - start).double(), (a - b).double())
             for (_, start), a, b in zip(model.state_dict().items(), one.state_dict().values(),
                                         four.state_dict().values()) if start.is_floating_point()]
    largest = max(update.abs().max().item() for update, _ in pairs)
    return max(diff.abs().max().item() / max(update.abs().max().item(), 1e-4 * largest)
               for update, diff in pairs)


def test_four_accumulated_batches_of_two_equal_one_batch_of_eight(tmp_path):
    """mmengine divides each micro-batch loss by accumulative_counts: with a per-pixel mean over
    equal micro-batches and fixed normalisation statistics, the sum of four such gradients is
    the batch-8 gradient."""
    model = tiny_lavt(tmp_path, class_weight=None)
    eight = batch(torch.Generator().manual_seed(0), 8)
    pairs = [(eight[0][i:i + 2], eight[1][i:i + 2]) for i in range(0, 8, 2)]
    one, four = copy.deepcopy(model), copy.deepcopy(model)
    step(one, [eight], accumulate=1)
    step(four, pairs, accumulate=4)
    assert relative_update_difference(model, one, four) < 1e-9


def test_class_weighted_cross_entropy_is_normalised_per_micro_batch(tmp_path):
    """With class weights, mmseg's cross-entropy divides by the weights summed over each
    (micro-)batch, as the reference's F.cross_entropy does per GPU: four accumulated batches of 2
    are then the reference's 4 GPUs x 2, not one batch of 8."""
    model = tiny_lavt(tmp_path, class_weight=[0.9, 1.1])
    eight = batch(torch.Generator().manual_seed(0), 8)
    pairs = [(eight[0][i:i + 2], eight[1][i:i + 2]) for i in range(0, 8, 2)]
    one, four, ddp = copy.deepcopy(model), copy.deepcopy(model), copy.deepcopy(model)
    step(one, [eight], accumulate=1)
    step(four, pairs, accumulate=4)
    # what DDP's gradient average over 4 processes of 2 samples gives
    grads = []
    for inputs, samples in pairs:
        replica = copy.deepcopy(model)
        step(replica, [(inputs, samples)], accumulate=1)
        grads.append({k: v - replica.state_dict()[k] for k, v in model.state_dict().items()})
    with torch.no_grad():
        for k, v in ddp.state_dict().items():
            if v.is_floating_point():
                v.sub_(sum(g[k] for g in grads) / 4)
    assert relative_update_difference(model, ddp, four) < 1e-9
    assert relative_update_difference(model, one, four) > 1e-3
