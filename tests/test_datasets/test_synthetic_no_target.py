"""The synthetic generator's exact no-target expressions (mmrrsis.datasets.synthetic.no_target)
and the package layout that keeps the old module's names."""
import json
import os
import os.path as osp
import runpy

import pytest
from transformers import BertTokenizerFast

import mmrrsis.datasets.synthetic as synthetic
from mmrrsis.datasets.synthetic import (NO_TARGET_FILE, PALETTE, REFSEGRS_CATEGORIES,
                                        REFSEGRS_SPECS, RRSISD_CATEGORIES, RRSISD_SPECS, WHERE,
                                        make_refsegrs, make_rrsisd)
from mmrrsis.datasets.synthetic.no_target import REACH, related
from mmrrsis.datasets.utils import category_from_expression

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train', 'val', 'test')
# Every public name of the single-module generator this package replaced.
OLD_NAMES = (
    'REFSEGRS_CATEGORIES', 'RRSISD_CATEGORIES', 'MIN_SIZE', 'SPECIAL_TOKENS', 'ATTRIBUTE_SHARES',
    'SECOND_EXPRESSION_SHARE', 'SIZE_RATIO', 'MAX_LAYOUT_TRIES', 'PALETTE', 'ALL_COLORS', 'GLASS',
    'WATER', 'SOIL', 'PAINT', 'GRASS', 'POSITION_WORDS', 'WHERE', 'TEMPLATES', 'SIZE_WORDS',
    'Polygon', 'Part', 'LONG', 'VEHICLE_GROUP', 'REFSEGRS_SPECS', 'RRSISD_SPECS', 'SPLITS',
    'build_vocab', 'make_refsegrs', 'make_rrsisd')


def _files(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            with open(osp.join(folder, name), 'rb') as f:
                found[osp.relpath(osp.join(folder, name), root)] = f.read()
    return found


def _load(root):
    with open(osp.join(root, NO_TARGET_FILE), encoding='utf-8') as f:
        return json.load(f)['samples']


def test_package_keeps_every_old_name():
    assert set(OLD_NAMES) <= set(synthetic.__all__)
    for name in OLD_NAMES:
        assert getattr(synthetic, name) is not None, name


@pytest.mark.parametrize('make', [make_refsegrs, make_rrsisd])
def test_no_target_share_adds_one_file_and_changes_no_other(tmp_path, make):
    plain = make(str(tmp_path / 'plain'), 20, seed=3, size=48)
    with_negatives = make(str(tmp_path / 'negatives'), 20, seed=3, size=48, no_target_share=0.3)
    before, after = _files(tmp_path / 'plain'), _files(tmp_path / 'negatives')
    assert set(after) - set(before) == {NO_TARGET_FILE}
    assert all(after[name] == content for name, content in before.items())
    assert with_negatives['samples'] == plain['samples']
    assert plain['no_target_samples'] == {split: 0 for split in SPLITS}
    # each split: 3 no-target expressions per 7 with a target
    for split in SPLITS:
        assert with_negatives['no_target_samples'][split] == \
            round(0.3 / 0.7 * plain['samples'][split])
    entries = _load(tmp_path / 'negatives')
    assert [sum(e['split'] == s for e in entries) for s in SPLITS] == \
        [with_negatives['no_target_samples'][s] for s in SPLITS]
    # the same seed gives the same file
    make(str(tmp_path / 'again'), 20, seed=3, size=48, no_target_share=0.3)
    assert _files(tmp_path / 'again')[NO_TARGET_FILE] == after[NO_TARGET_FILE]


def test_related_categories():
    assert {'vehicle', 'car', 'van', 'bus'} <= related(REFSEGRS_SPECS, 'car')
    assert 'road' in related(REFSEGRS_SPECS, 'road marking')
    assert related(REFSEGRS_SPECS, 'tree') == {'tree'}
    assert related(RRSISD_SPECS, 'vehicle') == {'vehicle'}


def _position(expression):
    found = [word for word, phrase in WHERE.items() if expression.endswith(phrase)]
    return max(found, key=len)


@pytest.mark.parametrize('make, specs', [(make_refsegrs, REFSEGRS_SPECS),
                                         (make_rrsisd, RRSISD_SPECS)])
def test_no_target_expressions_describe_nothing_in_their_image(tmp_path, make, specs):
    summary = make(str(tmp_path), 60, seed=5, size=48, no_target_share=0.3)
    kinds = set()
    for record in summary['images']:
        used = [t['expression'] for t in record['no_target']]
        assert len(used) == len(set(used))
        for entry in record['no_target']:
            kinds.add(entry['kind'])
            name, expression = entry['category'], entry['expression']
            assert category_from_expression(expression, [s.name for s in specs]) == name
            peers = [o for o in record['objects'] if o['category'] in related(specs, name)]
            if entry['kind'] == 'category':
                assert peers == [], entry  # neither the category nor a related one
            elif entry['kind'] == 'color':
                color = next(c for c in PALETTE if c in expression.split())
                assert peers and all(o['color'] != color for o in peers), entry
            else:
                position = _position(expression)
                assert peers and all(o['position'] not in REACH[position] for o in peers), entry
    assert kinds == {'category', 'color', 'position'}


def test_no_target_file_uses_the_loaders_ids_and_names(tmp_path):
    make_refsegrs(str(tmp_path / 'r'), 20, seed=0, size=48, no_target_share=0.3)
    summary = make_rrsisd(str(tmp_path / 'd'), 20, seed=0, size=48, no_target_share=0.3)
    refsegrs = _load(tmp_path / 'r')
    assert all(isinstance(e['image_id'], str) and e['category'] in REFSEGRS_CATEGORIES
               for e in refsegrs)
    rrsisd = _load(tmp_path / 'd')
    split_of = {r['id']: r['split'] for r in summary['images']}
    for entry in rrsisd:
        assert isinstance(entry['image_id'], int) and split_of[entry['image_id']] == entry['split']
        assert RRSISD_CATEGORIES[entry['category_id']] == entry['category']
        assert RRSISD_SPECS[entry['category_id']].name in entry['expression']
    assert set(rrsisd[0]) == {'split', 'image_id', 'expression', 'kind', 'category', 'category_id'}


def test_vocabulary_covers_the_no_target_expressions(tmp_path):
    summary = make_rrsisd(str(tmp_path), 30, seed=1, size=48, no_target_share=0.5)
    tokenizer = BertTokenizerFast.from_pretrained(osp.dirname(summary['vocab_file']))
    expressions = [e['expression'] for e in _load(tmp_path)]
    assert len(expressions) >= 20
    for expression in expressions:
        assert tokenizer.unk_token_id not in tokenizer(expression)['input_ids'], expression


@pytest.mark.parametrize('share', [-0.1, 1.0])
def test_bad_share_is_named(tmp_path, share):
    with pytest.raises(ValueError, match='no_target_share must lie in'):
        make_refsegrs(str(tmp_path), 4, size=48, no_target_share=share)


def test_cli_writes_the_no_target_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    monkeypatch.setattr('sys.argv', ['make_synthetic.py', 'refsegrs', str(out), '--num-images',
                                     '10', '--size', '48', '--no-target-share', '0.3'])
    runpy.run_path(osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py'),
                   run_name='__main__')
    assert 'no-target expressions (no_target.json): train' in capsys.readouterr().out
    assert len(_load(out)) > 0
