import nltk
import pytest
import torch
from mmseg.structures import SegDataSample

from mmrrsis.datasets import KeyPhraseMasker
from mmrrsis.models.data_preprocessors import ReferringDataPreProcessor
from mmrrsis.registry import TRANSFORMS

# expression -> masked text (nltk backend, default lexicon, span='phrase'): the key noun
# phrase naming the referent, determiner, numbers and modifiers included
PHRASE_CASES = {
    # RefSegRS style
    'paved road': ['paved road'],
    'low vegetation near the building': ['low vegetation'],
    'bikeway': ['bikeway'],
    'impervious surface': ['impervious surface'],
    'road marking on the left': ['road marking'],  # "marking" tagged VBG
    'bikeway next to the sidewalk': ['bikeway'],  # tagged RB, found by the lexicon
    'two cars parked on the road': ['two cars'],
    'cars parked along the road': ['cars'],
    'a gray vehicle parked next to the white building': ['a gray vehicle'],
    'the truck trailer on the road': ['the truck trailer'],
    'yellow low vegetation': ['yellow low vegetation'],  # "yellow" tagged RB
    # RRSIS-D style
    'The baseball field on the top': ['The baseball field'],
    'a white airplane on the left of the airport': ['a white airplane'],
    'the white storage tank left of the harbor': ['the white storage tank'],
    'the ground track field in the middle': ['the ground track field'],
    'the L-shaped building': ['the L-shaped building'],
    'the 3 vehicles': ['the 3 vehicles'],
    'the second storage tank from the left': ['the second storage tank'],
    'the three white storage tanks on the right': ['the three white storage tanks'],
    'the gray expressway service area': ['the gray expressway service area'],
    'white expressway toll station': ['white expressway toll station'],  # "expressway" RB
    'bottom right airplane': ['bottom right airplane'],  # NN RB NN
    'the long, narrow bridge': ['the long, narrow bridge'],
    'all the cars on the road': ['all the cars'],
    'the car colored red': ['the car'],  # a modifier after the noun stays
    'the bigger one of two storage tanks': ['two storage tanks'],  # "one" is not resolved
    # no category named: the first noun phrase
    'the white boat near the dock': ['the white boat'],
}
# span='noun' (the behaviour before `span` existed): the object's name only
NOUN_CASES = {
    'paved road': ['road'],
    'the vehicle on the left side of the road': ['vehicle'],
    'low vegetation near the building': ['low vegetation'],
    'road marking on the left': ['road marking'],
    'impervious surface': ['impervious surface'],
    'cars parked along the road': ['cars'],
    'bikeway next to the sidewalk': ['bikeway'],
    'the truck trailer on the road': ['truck', 'trailer'],
    'The baseball field on the top': ['baseball field'],
    'the white storage tank left of the harbor': ['storage tank'],
    'a ship in the middle': ['ship'],
    'the airplane at the bottom right': ['airplane'],
    'bottom right airplane': ['airplane'],
    'the larger storage tank': ['storage tank'],
    'the bigger one of two storage tanks': ['storage tanks'],
    'the ground track field in the middle': ['ground track field'],
    'the gray expressway service area': ['expressway service area'],
    'the white boat near the dock': ['boat'],
}


def masked(masker, expression):
    results = masker(dict(expression=expression))
    return [expression[start:end] for start, end in results['key_phrase_spans']]


@pytest.fixture(scope='module')
def nltk_masker():
    return TRANSFORMS.build(dict(type='KeyPhraseMasker'))


@pytest.fixture(scope='module')
def nltk_noun_masker():
    return KeyPhraseMasker(span='noun')


@pytest.mark.parametrize('expression, expected', list(PHRASE_CASES.items()))
def test_nltk_masks_the_key_noun_phrase(nltk_masker, expression, expected):
    assert nltk_masker.span == 'phrase'
    assert masked(nltk_masker, expression) == expected


@pytest.mark.parametrize('expression, expected', list(NOUN_CASES.items()))
def test_nltk_noun_span_masks_the_name_only(nltk_noun_masker, expression, expected):
    assert masked(nltk_noun_masker, expression) == expected


def test_nltk_without_lexicon_masks_first_noun_phrase():
    phrase, noun = KeyPhraseMasker(categories=()), KeyPhraseMasker(categories=(), span='noun')
    assert masked(phrase, 'low vegetation near the building') == ['low vegetation']
    assert masked(phrase, 'the plane next to the bridge') == ['the plane']
    assert masked(phrase, 'yellow low vegetation') == ['low vegetation']  # no word rule
    assert masked(noun, 'low vegetation near the building') == ['vegetation']
    assert masked(noun, 'the truck trailer on the road') == ['truck trailer']
    assert masked(noun, 'the plane next to the bridge') == ['plane']
    assert masked(noun, 'the white storage tank left of the harbor') == ['storage tank']


def synthetic_expressions():
    """Every template of the synthetic generator, for every category it draws, with the
    phrase it should mask: the template up to the category name."""
    from mmrrsis.datasets.synthetic import REFSEGRS_SPECS, RRSISD_SPECS, TEMPLATES, WHERE
    fields = [dict(color='red', size='larger', where=WHERE['top left']),
              dict(color='yellow', size='smallest', where=WHERE['center'])]
    cases = []
    for spec in REFSEGRS_SPECS + RRSISD_SPECS:
        for template in (t for group in TEMPLATES.values() for t in group):
            head = template[:template.index('{category}') + len('{category}')]
            for values in fields:
                cases.append((template.format(category=spec.name, **values),
                              head.format(category=spec.name, **values)))
    return cases


@pytest.mark.parametrize('backend', ['lexicon', 'nltk'])
def test_synthetic_expressions_mask_determiner_modifier_and_category(backend):
    masker = KeyPhraseMasker(backend=backend)
    cases = synthetic_expressions()
    assert ('the red road marking at the top left', 'the red road marking') in cases
    assert ('the storage tank colored yellow', 'the storage tank') in cases
    wrong = [(e, masked(masker, e), phrase) for e, phrase in cases
             if masked(masker, e) != [phrase]]
    assert wrong == []


def test_missing_tagger_data_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, 'path', [str(tmp_path)])
    with pytest.raises(LookupError) as err:
        KeyPhraseMasker(backend='nltk')
    message = str(err.value)
    assert 'python -m nltk.downloader averaged_perceptron_tagger_eng' in message
    assert "backend='lexicon'" in message
    KeyPhraseMasker(backend='lexicon')  # the offline fallback needs no data


def test_lexicon_backend_phrase():
    masker = KeyPhraseMasker(backend='lexicon')
    assert masker.span == 'phrase'
    cases = {
        'the white storage tank left of the harbor': ['the white storage tank'],
        'a gray vehicle parked next to the white building': ['a gray vehicle'],
        'two cars parked on the road': ['two cars'],
        'the L-shaped building': ['the L-shaped building'],
        'the second storage tank from the left': ['the second storage tank'],
        'low vegetation near the building': ['low vegetation'],
        'the truck trailer on the road': ['the truck trailer'],  # adjacent names join
        'the bigger one of two storage tanks': ['two storage tanks'],  # stops at "of"
        'on the right, two red cars': ['two red cars'],  # stops at punctuation
        'all the cars on the road': ['the cars'],  # stops after the determiner
        'there is a ship in the middle': ['a ship'],
        'the Expressway-toll-station': ['the Expressway-toll-station'],
    }
    assert {e: masked(masker, e) for e in cases} == cases
    assert masked(masker, 'the white boat near the dock') == []
    assert masker.num_unmasked == 1 and masker.num_seen == len(cases) + 1


def test_lexicon_backend_noun():
    masker = KeyPhraseMasker(backend='lexicon', span='noun')
    assert masked(masker, 'road marking on the left') == ['road marking']
    assert masked(masker, 'the vehicle on the left side of the road') == ['vehicle']
    assert masked(masker, 'buses on the road') == ['buses']
    assert masked(masker, 'the storagetank') == ['storagetank']
    assert masked(masker, 'the Expressway-toll-station') == ['Expressway-toll-station']
    assert masked(masker, 'the white storage tanks') == ['storage tanks']
    assert masked(masker, 'business district') == []  # "bus" only as a whole word
    assert masker.num_unmasked == 1 and masker.num_seen == 7
    assert masked(masker, 'on the left') == []
    assert masker.num_unmasked == 2
    custom = KeyPhraseMasker(backend='lexicon', categories=['plane'], span='noun')
    assert masked(custom, 'two planes near the bridge') == ['planes']


def test_bad_arguments():
    with pytest.raises(ValueError, match='backend'):
        KeyPhraseMasker(backend='spacy')
    with pytest.raises(ValueError, match="span 'word'"):
        KeyPhraseMasker(backend='lexicon', span='word')
    with pytest.raises(ValueError, match='category names'):
        KeyPhraseMasker(backend='lexicon', categories=())
    with pytest.raises(ValueError, match='expression'):
        KeyPhraseMasker(backend='lexicon')(dict(img_path='a.tif'))
    assert "span='noun'" in repr(KeyPhraseMasker(backend='lexicon', span='noun'))


def test_preprocessor_pads_exactly_the_key_phrase_pieces(nltk_masker, tmp_path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    expressions = list(PHRASE_CASES)
    wordpiece = Tokenizer(models.WordPiece(unk_token='[UNK]'))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(expressions, trainers.WordPieceTrainer(
        vocab_size=150, special_tokens=['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']))
    vocab = wordpiece.model.save(str(tmp_path))[0]
    preprocessor = ReferringDataPreProcessor(tokenizer=vocab, max_length=32)
    tokenizer = preprocessor.tokenizer
    pad_id = tokenizer.pad_token_id

    samples = []
    for expression in expressions:
        spans = nltk_masker(dict(expression=expression))['key_phrase_spans']
        samples.append(SegDataSample(metainfo=dict(expression=expression, key_phrase_spans=spans)))
    data = preprocessor(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * len(samples),
                             data_samples=samples))

    split_words = 0
    for sample in data['data_samples']:
        expression = sample.metainfo['expression']
        phrase = PHRASE_CASES[expression][0]
        start = expression.index(phrase)
        enc = tokenizer(expression, padding='max_length', max_length=32,
                        return_offsets_mapping=True)
        assert enc['input_ids'][-1] == pad_id  # not truncated
        # the pieces that start inside the expected phrase text
        expected = [j for j, (a, b) in enumerate(enc['offset_mapping'])
                    if b > a and start <= a < start + len(phrase)]
        ids, masked_ids = sample.text.input_ids, sample.text.masked_ids
        assert ids.tolist() == enc['input_ids']
        changed = (masked_ids != ids).nonzero()[:, 0].tolist()
        assert changed == expected, expression
        assert (masked_ids[expected] == pad_id).all()
        assert sample.text.masked_token_mask.nonzero()[:, 0].tolist() == expected
        split_words += len(expected) > len(phrase.split())
    assert split_words > 0  # some key words span several word pieces
