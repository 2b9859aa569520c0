"""NoTargetDataset: seeded no-target samples around RefSegRS and RRSIS-D, originals unchanged."""
import json
import os.path as osp

import pytest
import torch

from mmrrsis.datasets import NoTargetDataset, RefSegRSDataset, RRSISDDataset
from mmrrsis.datasets.refsegrs import read_phrase_file
from mmrrsis.datasets.synthetic import make_refsegrs, make_rrsisd
from mmrrsis.datasets.utils import category_from_expression

PIPELINE = [dict(type='LoadReferringImage'), dict(type='LoadReferringAnnotations'),
            dict(type='PackReferringInputs')]
VEHICLES = ('vehicle', 'car', 'van', 'truck', 'trailer', 'bus')


@pytest.fixture(scope='module')
def refsegrs_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('refsegrs'))
    make_refsegrs(root, 30, seed=0, size=48, no_target_share=0.3)
    return root


@pytest.fixture(scope='module')
def rrsisd_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rrsisd'))
    make_rrsisd(root, 30, seed=0, size=48, no_target_share=0.3)
    return root


def refsegrs(root, split='train'):
    return RefSegRSDataset(data_root=root, split=split, pipeline=PIPELINE)


def rrsisd(root, split='train'):
    return RRSISDDataset(data_root=root, split=split, pipeline=PIPELINE)


def negatives(wrapper):
    return [wrapper.get_data_info(i) for i in range(len(wrapper.dataset), len(wrapper))]


def test_rrsisd_negatives_never_hold_an_annotated_category(rrsisd_root):
    with open(osp.join(rrsisd_root, 'rrsisd', 'instances.json')) as f:
        instances = json.load(f)
    names = RRSISDDataset.METAINFO['categories']
    annotated = {}
    for ann in instances['annotations']:
        annotated.setdefault(ann['image_id'], set()).add(names[ann['categories_id']])
    for split in ('train', 'val', 'test'):
        dataset = rrsisd(rrsisd_root, split)
        wrapper = NoTargetDataset(dataset, ratio=0.3, seed=1)
        found = negatives(wrapper)
        assert len(found) == round(0.3 / 0.7 * len(dataset))
        split_images = {dataset.get_data_info(i)['image_id'] for i in range(len(dataset))}
        for info in found:
            assert info['has_target'] is False
            assert info['category'] not in annotated[info['image_id']]
            assert names[info['category_id']] == info['category']
            assert info['image_id'] in split_images  # each split keeps its own negatives
            assert info['img_path'].endswith(f'{info["image_id"]:05d}.jpg')


def test_refsegrs_negatives_never_hold_a_named_category(refsegrs_root):
    named = {}
    for split in ('train', 'val', 'test'):
        for _, img_id, expression in read_phrase_file(
                osp.join(refsegrs_root, f'output_phrase_{split}.txt')):
            named.setdefault(img_id, set()).add(
                category_from_expression(expression, RefSegRSDataset.METAINFO['categories']))
    wrapper = NoTargetDataset(refsegrs(refsegrs_root), ratio=0.4, seed=0,
                              related_categories=[VEHICLES])
    found = negatives(wrapper)
    assert len(found) == round(0.4 / 0.6 * len(wrapper.dataset))
    for info in found:
        assert info['category'] not in named[info['image_id']]
        if info['category'] in VEHICLES:
            assert not named[info['image_id']] & set(VEHICLES)
        assert category_from_expression(info['expression'],
                                        RefSegRSDataset.METAINFO['categories']) == info['category']


def test_same_seed_same_negatives(refsegrs_root, rrsisd_root):
    for make, root in ((refsegrs, refsegrs_root), (rrsisd, rrsisd_root)):
        first = negatives(NoTargetDataset(make(root), ratio=0.3, seed=7))
        assert negatives(NoTargetDataset(make(root), ratio=0.3, seed=7)) == first
        assert negatives(NoTargetDataset(make(root), ratio=0.3, seed=8)) != first
        assert len({(n['image_id'], n['expression']) for n in first}) == len(first)


@pytest.mark.parametrize('kind', ['refsegrs', 'rrsisd'])
def test_positive_samples_are_bit_identical(refsegrs_root, rrsisd_root, kind):
    make, root = (refsegrs, refsegrs_root) if kind == 'refsegrs' else (rrsisd, rrsisd_root)
    dataset = make(root)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    wrapper = NoTargetDataset(dataset, ratio=0.3, negatives_file='no_target.json')
    plain = make(root)
    assert len(wrapper) > len(dataset) == len(plain)
    for i in range(len(plain)):
        assert wrapper.get_data_info(i) == infos[i] == plain.get_data_info(i)
        got, want = wrapper[i], plain[i]
        assert torch.equal(got['inputs'], want['inputs'])
        assert torch.equal(got['data_samples'].gt_sem_seg.data,
                           want['data_samples'].gt_sem_seg.data)
        assert got['data_samples'].metainfo == want['data_samples'].metainfo
        assert 'has_target' not in got['data_samples'].metainfo
    assert wrapper.metainfo == plain.metainfo


def test_no_target_sample_has_an_empty_mask_at_the_image_size(rrsisd_root):
    wrapper = NoTargetDataset(rrsisd(rrsisd_root), ratio=0.3)
    n = len(wrapper.dataset)
    for idx in range(n, len(wrapper)):
        sample = wrapper[idx]['data_samples']
        image = wrapper[idx]['inputs']
        assert sample.gt_sem_seg.data.shape == (1, ) + tuple(image.shape[1:])
        assert int(sample.gt_sem_seg.data.sum()) == 0
        assert sample.metainfo['has_target'] is False
        assert sample.metainfo['expression'] == wrapper.get_data_info(idx)['expression']
    # an odd-size JPEG (48 x 49 or 35) still gets a mask of its own size
    shapes = {tuple(wrapper[i]['inputs'].shape[1:]) for i in range(n, len(wrapper))}
    assert (48, 48) in shapes


def test_listed_negatives_are_the_files_entries_of_the_split(refsegrs_root):
    with open(osp.join(refsegrs_root, 'no_target.json')) as f:
        entries = json.load(f)['samples']
    for split in ('train', 'val', 'test'):
        wrapper = NoTargetDataset(refsegrs(refsegrs_root, split), negatives_file='no_target.json')
        listed = [(e['image_id'], e['expression'], e['category']) for e in entries
                  if e['split'] == split]
        assert [(n['image_id'], n['expression'], n['category']) for n in negatives(wrapper)] \
            == listed
        assert listed
    # both sources: listed first, sampled after, no pair twice
    both = negatives(NoTargetDataset(refsegrs(refsegrs_root), ratio=0.3,
                                     negatives_file='no_target.json'))
    assert len({(n['image_id'], n['expression']) for n in both}) == len(both)


def test_listed_negatives_are_checked(refsegrs_root, tmp_path):
    bad = tmp_path / 'bad.json'
    for entry, match in [(dict(image_id='999', expression='the car', category='car'),
                          "image_id '999'.*no sample in the train split"),
                         (dict(image_id='0', expression='the car', category='boat'),
                          "category 'boat'"),
                         (dict(image_id='0', expression=' ', category='car'), 'no expression')]:
        bad.write_text(json.dumps(dict(samples=[dict(entry, split='train')])))
        with pytest.raises(ValueError, match=match):
            NoTargetDataset(refsegrs(refsegrs_root), negatives_file=str(bad))
    with pytest.raises(FileNotFoundError, match='missing.*--no-target-share'):
        NoTargetDataset(refsegrs(refsegrs_root), negatives_file='none.json')


def test_bad_arguments_are_named(refsegrs_root):
    with pytest.raises(ValueError, match=r'ratio must lie in \[0, 1\)'):
        NoTargetDataset(refsegrs(refsegrs_root), ratio=1.0)
    with pytest.raises(ValueError, match='adds nothing'):
        NoTargetDataset(refsegrs(refsegrs_root))
    with pytest.raises(TypeError, match='config dict or a BaseDataset'):
        NoTargetDataset([1, 2], ratio=0.3)


def test_built_from_the_registry_lazily(refsegrs_root):
    from mmrrsis.registry import DATASETS
    wrapper = DATASETS.build(dict(
        type='NoTargetDataset', ratio=0.3, lazy_init=True,
        dataset=dict(type='RefSegRSDataset', data_root=refsegrs_root, split='val',
                     pipeline=PIPELINE)))
    assert wrapper.negatives == []
    assert len(wrapper) > len(wrapper.dataset) and wrapper.negatives
    assert wrapper[-1]['data_samples'].metainfo['has_target'] is False
    with pytest.raises(IndexError, match='out of range'):
        wrapper.get_data_info(len(wrapper))
