import nltk
import pytest
import torch
from mmseg.structures import SegDataSample

from mmrrsis.datasets import KeyPhraseMasker
from mmrrsis.models.data_preprocessors import ReferringDataPreProcessor
from mmrrsis.registry import TRANSFORMS

# expression -> masked substrings (nltk backend, default lexicon)
NLTK_CASES = {
    # RefSegRS style
    'paved road': ['road'],
    'the vehicle on the left side of the road': ['vehicle'],
    'low vegetation near the building': ['low vegetation'],
    'road marking on the left': ['road marking'],
    'impervious surface': ['impervious surface'],
    'cars parked along the road': ['cars'],
    'bikeway next to the sidewalk': ['bikeway'],  # tagged RB, found by the lexicon
    'the truck trailer on the road': ['truck', 'trailer'],
    # RRSIS-D style
    'The baseball field on the top': ['baseball field'],
    'the white storage tank left of the harbor': ['storage tank'],
    'a ship in the middle': ['ship'],
    'the airplane at the bottom right': ['airplane'],
    'bottom right airplane': ['airplane'],
    'the larger storage tank': ['storage tank'],
    'the bigger one of two storage tanks': ['storage tanks'],
    'the ground track field in the middle': ['ground track field'],
    'the gray expressway service area': ['expressway service area'],
    # no category named: the first noun phrase's nouns
    'the white boat near the dock': ['boat'],
}


def masked(masker, expression):
    results = masker(dict(expression=expression))
    return [expression[start:end] for start, end in results['key_phrase_spans']]


@pytest.fixture(scope='module')
def nltk_masker():
    return TRANSFORMS.build(dict(type='KeyPhraseMasker'))


@pytest.mark.parametrize('expression, expected', list(NLTK_CASES.items()))
def test_nltk_masks_the_referent_name(nltk_masker, expression, expected):
    assert masked(nltk_masker, expression) == expected


def test_nltk_without_lexicon_masks_first_noun_phrase_nouns():
    masker = KeyPhraseMasker(categories=())
    assert masked(masker, 'low vegetation near the building') == ['vegetation']
    assert masked(masker, 'the truck trailer on the road') == ['truck trailer']
    assert masked(masker, 'the plane next to the bridge') == ['plane']
    assert masked(masker, 'the white storage tank left of the harbor') == ['storage tank']


def test_missing_tagger_data_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, 'path', [str(tmp_path)])
    with pytest.raises(LookupError) as err:
        KeyPhraseMasker(backend='nltk')
    message = str(err.value)
    assert 'python -m nltk.downloader averaged_perceptron_tagger_eng' in message
    assert "backend='lexicon'" in message
    KeyPhraseMasker(backend='lexicon')  # the offline fallback needs no data


def test_lexicon_backend():
    masker = KeyPhraseMasker(backend='lexicon')
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
    custom = KeyPhraseMasker(backend='lexicon', categories=['plane'])
    assert masked(custom, 'two planes near the bridge') == ['planes']


def test_bad_arguments():
    with pytest.raises(ValueError, match='backend'):
        KeyPhraseMasker(backend='spacy')
    with pytest.raises(ValueError, match='category names'):
        KeyPhraseMasker(backend='lexicon', categories=())
    with pytest.raises(ValueError, match='expression'):
        KeyPhraseMasker(backend='lexicon')(dict(img_path='a.tif'))


def test_preprocessor_pads_exactly_the_key_phrase_pieces(nltk_masker, tmp_path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    expressions = list(NLTK_CASES)
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
        key_words = {w.lower() for phrase in NLTK_CASES[expression] for w in phrase.split()}
        enc = tokenizer(expression, padding='max_length', max_length=32)
        assert enc['input_ids'][-1] == pad_id  # not truncated
        words = expression.split()
        expected = [i for i, w in enumerate(enc.word_ids())
                    if w is not None and words[w].lower() in key_words]
        ids, masked_ids = sample.text.input_ids, sample.text.masked_ids
        assert ids.tolist() == enc['input_ids']
        changed = (masked_ids != ids).nonzero()[:, 0].tolist()
        assert changed == expected, expression
        assert (masked_ids[expected] == pad_id).all()
        split_words += len(expected) > len(key_words)
    assert split_words > 0  # some key words span several word pieces
