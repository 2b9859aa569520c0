"""FIANetTextDecoupler: the published code's object / position rules, as character spans."""
import logging

import nltk
import pytest
from mmengine.logging import MMLogger

from mmrrsis.registry import TRANSFORMS
from projects.fianet.fianet import FIANetTextDecoupler
from projects.fianet.fianet.text_decoupler import LEXICONS

# expression -> (object parts, position parts), by the code's rules; written as the texts the
# spans cover
REFSEGRS_CASES = {
    'paved road': (['road'], []),
    # every category mention counts, landmarks included; "of ..." chunks are dropped
    'the vehicle on the left of the road': (['vehicle', 'road'], ['on the left']),
    'low vegetation near the building': (['low vegetation', 'building'],
                                         ['near the building']),
    # "road" and "road marking" both match: both mentions, OR-ed
    'road marking on the left': (['road', 'road marking'], ['on the left']),
    'bikeway next to the sidewalk': (['bikeway', 'sidewalk'], []),  # "to" is TO, not IN
    'two cars parked on the road': (['cars', 'road'], ['on the road']),  # substring "car"
    'a gray vehicle parked next to the white building': (['vehicle', 'building'], []),
    'the truck trailer on the road': (['truck', 'trailer', 'road'], ['on the road']),
    'impervious surface in the middle': (['impervious surface'], ['in the middle']),
    'the tree along the street': (['tree'], ['along the street']),
    'the building at the top of the image': (['building'], ['at the top']),
    'the van behind the bus': (['van', 'bus'], ['behind the bus']),
}
RRSISD_CASES = {
    'The baseball field on the top': (['baseball field'], ['on the top']),
    'a white car parked on the right side of the road': ([], ['on the right side']),
    'the airplane at the bottom right': (['airplane'], ['at the bottom']),
    'a white storage tank on the right': (['storage tank'], ['on the right']),
    'the ground track field in the middle': (['ground track field'], ['in the middle']),
    'the ship on the left of the ship in the middle': (['ship'], ['on the left', 'in the middle']),
    'the expressway toll station in the upper-left corner': (['expressway toll station'],
                                                            ['in the upper-left corner']),
    'the largest one': ([], []),
    'the dam above the harbor': (['dam', 'harbor'], ['above the harbor']),
    'the chimney on the lower right of the image': (['chimney'], ['on the lower right']),
    'the bridge over the river in the center': (['bridge'], ['over the river', 'in the center']),
    'a tennis court to the left of the basketball court': (
        ['tennis court', 'basketball court'], []),
    # the code's quirks, kept: a chunk is placed at the first occurrence of its first word
    # ("in the middle" lands on "in the parking"), and "of" is matched inside words ("roof")
    'the vehicle in the parking lot in the middle': (['vehicle'], ['in the parking']),
    'the vehicle on the roof of the building': (['vehicle'], []),
}


def _texts(expression, spans):
    return [expression[start:end] for start, end in spans]


@pytest.mark.parametrize('dataset, cases', [('refsegrs', REFSEGRS_CASES),
                                            ('rrsisd', RRSISD_CASES)])
def test_spans_follow_the_code_rules(dataset, cases):
    decoupler = FIANetTextDecoupler(categories=dataset)
    for expression, (objects, positions) in cases.items():
        results = decoupler(dict(expression=expression))
        assert _texts(expression, results['object_spans']) == objects, expression
        assert _texts(expression, results['position_spans']) == positions, expression
        spans = results['object_spans'] + results['position_spans']
        assert all(isinstance(s, tuple) and len(s) == 2 for s in spans)


def test_exact_character_spans():
    decoupler = TRANSFORMS.build(dict(type='FIANetTextDecoupler', categories='rrsisd'))
    objects, positions = decoupler.decouple('the vehicle in the upper-left corner')
    assert objects == [(4, 11)]
    assert positions == [(12, 36)]


def test_lexicons_are_the_code_category_sets():
    assert len(LEXICONS['refsegrs']) == 14 and 'impervious surface' in LEXICONS['refsegrs']
    assert set(LEXICONS['rrsisd']) == {
        'airplane', 'airport', 'golf field', 'expressway service area', 'baseball field',
        'stadium', 'ground track field', 'storage tank', 'basketball court', 'chimney',
        'tennis court', 'overpass', 'train station', 'ship', 'expressway toll station', 'dam',
        'harbor', 'bridge', 'vehicle', 'windmill'}
    custom = FIANetTextDecoupler(categories=['boat'])
    assert custom.decouple('a boat at the dock') == ([(2, 6)], [(7, 18)])
    with pytest.raises(ValueError, match="categories 'dior' is not one of"):
        FIANetTextDecoupler(categories='dior')


def test_empty_parts_are_counted_and_logged_once():
    messages = []

    class Capture(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Capture()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        decoupler = FIANetTextDecoupler(categories='rrsisd')
        for expression in ('the largest one', 'the airplane', 'on the left', 'the largest one'):
            decoupler(dict(expression=expression))
    finally:
        logger.removeHandler(handler)
    assert (decoupler.num_seen, decoupler.num_without_object,
            decoupler.num_without_position) == (4, 3, 3)
    assert [m for m in messages if 'num_without_object' in m] == [
        'FIANetTextDecoupler found no category name in "the largest one": its object mask is '
        "empty and FIAM's object branch gives 0 for it. Further such samples are only counted "
        '(FIANetTextDecoupler.num_without_object).']
    assert len([m for m in messages if 'num_without_position' in m]) == 1
    with pytest.raises(ValueError, match='has no "expression"'):
        decoupler(dict(img_path='a.png'))


def test_missing_tagger_data_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, 'path', [str(tmp_path)])
    monkeypatch.delenv('NLTK_DATA', raising=False)
    with pytest.raises(LookupError) as err:
        FIANetTextDecoupler(categories='refsegrs')
    message = str(err.value)
    assert 'FIANetTextDecoupler' in message
    assert 'python -m nltk.downloader averaged_perceptron_tagger_eng' in message
