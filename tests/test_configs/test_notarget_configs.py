"""The _notarget configs add only the existence head and the no-target samples; the paper and
tiny configs have neither and build and train as they did."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.models.segmentors import ExistenceEncoderDecoder, ReferringEncoderDecoder
from mmrrsis.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PARENTS = ['btdnet_swinb_refsegrs', 'btdnet_swinb_rrsisd', 'lavt_swinb_refsegrs',
           'lavt_swinb_rrsisd', 'btdnet_tiny_synthetic', 'lavt_tiny_synthetic']
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EXPRESSIONS = ['the red vehicle at the top left', 'the white building on the left']


def load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name.split('_')[0], f'{name}.py'))


@pytest.mark.parametrize('name', PARENTS)
def test_child_adds_only_the_head_and_the_negatives(name):
    parent, child = load(name).to_dict(), load(f'{name}_notarget').to_dict()
    assert 'existence_head' not in parent['model']
    assert all(parent[loader]['dataset']['type'] != 'NoTargetDataset' for loader in LOADERS)
    assert child['model'].pop('type') == 'ExistenceEncoderDecoder'
    assert parent['model'].pop('type') == 'ReferringEncoderDecoder'
    head = child['model'].pop('existence_head')
    assert head['type'] == 'ExistenceHead' and head['threshold'] == 0.5
    for loader in LOADERS:
        wrapper = child[loader]['dataset']
        assert wrapper['type'] == 'NoTargetDataset'
        assert wrapper.get('ratio', 0) > 0 or wrapper.get('negatives_file')
        child[loader]['dataset'] = wrapper['dataset']
    # the settings the child's bases share with the other _notarget configs
    child.pop('no_target')
    child.pop('existence_head')
    assert child == parent


def shrink(cfg, vocab):
    """The config's model at toy size: the backbone and head sizes of its tiny config."""
    method = 'btdnet' if cfg.model.backbone.type == 'BidirectionalExtractor' else 'lavt'
    tiny = load(f'{method}_tiny_synthetic').model
    sizes = {k: tiny[k].to_dict() for k in ('backbone', 'decode_head', 'auxiliary_head')
             if k in tiny}
    sizes['data_preprocessor'] = dict(tokenizer=vocab, size=(64, 64))
    if 'existence_head' in cfg.model:
        sizes['existence_head'] = dict(in_channels=192, channels=32, text_channels=64)
        if cfg.model.existence_head.get('query_output'):
            sizes['existence_head']['query_channels'] = tiny.decode_head.channels
    cfg.merge_from_dict(dict(model=sizes))
    return cfg.model


def _batch(model):
    torch.manual_seed(1)
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    masker = KeyPhraseMasker(backend='lexicon')
    samples = []
    for i, expression in enumerate(EXPRESSIONS):
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        mask[:, 8 + 30 * i:30 + 30 * i, 8:40] = 1
        sample = SegDataSample(metainfo=dict(
            expression=expression, img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64),
            key_phrase_spans=masker(dict(expression=expression))['key_phrase_spans']))
        sample.gt_sem_seg = PixelData(data=mask)
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=[image.clone()] * 2, data_samples=samples), True)


@pytest.mark.parametrize('name', ['btdnet_swinb_refsegrs', 'lavt_swinb_rrsisd'])
def test_paper_model_with_the_feature_off_trains_as_without_it(name, tmp_path):
    vocab = build_vocab(EXPRESSIONS, str(tmp_path), vocab_size=200)
    paper_cfg, child_cfg = shrink(load(name), vocab), shrink(load(f'{name}_notarget'), vocab)
    torch.manual_seed(0)
    paper = MODELS.build(paper_cfg)
    torch.manual_seed(0)
    child = MODELS.build(child_cfg)
    assert type(paper) is ReferringEncoderDecoder and isinstance(child, ExistenceEncoderDecoder)
    shared = {k: v for k, v in child.state_dict().items() if not k.startswith('existence_head.')}
    assert list(shared) == list(paper.state_dict())
    assert all(torch.equal(v, paper.state_dict()[k]) for k, v in shared.items())
    # one training step of each on the same batch and random stream: the mask losses agree,
    # the child only adds its BCE; after the step the paper model's weights are its own
    losses = {}
    for key, model in (('paper', paper), ('child', child)):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        torch.manual_seed(2)
        losses[key] = model.loss(**_batch(model))
        optimizer.zero_grad()
        sum(v for k, v in losses[key].items() if 'loss' in k).backward()
        optimizer.step()
    assert set(losses['child']) == set(losses['paper']) | {'exist.loss_exist', 'exist.acc_exist'}
    for key, value in losses['paper'].items():
        assert torch.equal(value, losses['child'][key]), key
