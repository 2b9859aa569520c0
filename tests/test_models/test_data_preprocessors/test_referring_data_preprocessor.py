"""ReferringDataPreProcessor: masked-token mask, key phrases lost to truncation, tokenizer paths."""
import importlib.util
import logging
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger
from mmseg.structures import SegDataSample

from mmrrsis.datasets import KeyPhraseMasker
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.models.data_preprocessors import ReferringDataPreProcessor
from mmrrsis.models.data_preprocessors.referring_data_preprocessor import (_looks_like_path,
                                                                           build_tokenizer)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
# 20 words naming no category: they push what follows past the 20-token cut
FILLER = 'close to the dock ' * 5
EXPRESSIONS = ['the red car on the left', 'on the left', FILLER + 'the white storage tank',
               'the blue bus ' + FILLER]


@pytest.fixture(scope='module')
def preprocessor(tmp_path_factory):
    vocab = build_vocab(EXPRESSIONS, str(tmp_path_factory.mktemp('vocab')), vocab_size=200)
    return ReferringDataPreProcessor(tokenizer=vocab, max_length=20)


@pytest.fixture
def logs():
    """Messages logged through mmengine's current logger during the test."""
    messages = []

    class Capture(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Capture()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def _batch(expressions):
    masker = KeyPhraseMasker(backend='lexicon')
    samples = [SegDataSample(metainfo=dict(
        expression=e, key_phrase_spans=masker(dict(expression=e))['key_phrase_spans']))
        for e in expressions]
    return dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * len(samples),
                data_samples=samples)


def test_masked_token_mask_marks_the_replaced_pieces(preprocessor):
    data = preprocessor(_batch(EXPRESSIONS[:2]))
    first, second = (s.text for s in data['data_samples'])
    assert first.masked_token_mask.dtype == torch.bool
    assert first.masked_token_mask.shape == (20, )
    # [CLS] the red car on the left [SEP]: "the red car" is the key phrase
    assert first.masked_token_mask.nonzero()[:, 0].tolist() == [1, 2, 3]
    assert torch.equal(first.masked_token_mask, first.masked_ids != first.input_ids)
    pad = preprocessor.tokenizer.pad_token_id
    assert (first.masked_ids[1:4] == pad).all()
    # no category named: nothing masked
    assert not second.masked_token_mask.any()
    assert torch.equal(second.masked_ids, second.input_ids)


def test_tokenize_without_spans_gives_an_empty_mask(preprocessor):
    text = preprocessor.tokenize(EXPRESSIONS[:2])
    assert text['masked_token_mask'].shape == (2, 20)
    assert not text['masked_token_mask'].any()
    assert torch.equal(text['masked_ids'], text['input_ids'])


def test_key_phrase_past_the_cut_is_counted_and_logged_once(preprocessor, logs):
    preprocessor.num_unmasked_truncated = 0
    truncated, kept = EXPRESSIONS[2], EXPRESSIONS[3]
    data = preprocessor(_batch([truncated, kept, EXPRESSIONS[0]]))
    texts = [s.text for s in data['data_samples']]
    assert not texts[0].masked_token_mask.any()
    assert torch.equal(texts[0].masked_ids, texts[0].input_ids)
    assert texts[1].masked_token_mask.nonzero()[:, 0].tolist() == [1, 2, 3]  # the blue bus
    assert preprocessor.num_unmasked_truncated == 1
    preprocessor(_batch([truncated]))
    assert preprocessor.num_unmasked_truncated == 2
    unmasked_logs = [m for m in logs if 'num_unmasked_truncated' in m]
    assert unmasked_logs == [
        f'key phrase "the white storage tank" of "{truncated}" overlaps no word piece kept '
        'within the 20-token cut, so its masked text equals the text. Further such samples '
        'are only counted (ReferringDataPreProcessor.num_unmasked_truncated).']


@pytest.mark.parametrize('name, is_path', [
    ('bert-base-uncased', False),
    ('google-bert/bert-base-uncased', False),  # hub "namespace/name"
    ('data/synthetic_refsegrs/bert_vocab/vocab.txt', True),
    ('vocab.txt', True),
    ('tokenizer.json', True),
    ('./bert_vocab', True),
    ('~/bert_vocab', True),
    ('/abs/bert_vocab', True),
    ('data\\bert_vocab', True),
    ('data/bert/vocab', True),
])
def test_what_looks_like_a_path(name, is_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _looks_like_path(name) is is_path
    # "namespace/name" means a local path when the namespace is a folder here
    (tmp_path / 'google-bert').mkdir()
    assert _looks_like_path('google-bert/bert-base-uncased')


def _load_make_synthetic():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py')
    spec = importlib.util.spec_from_file_location('make_synthetic', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_synthetic_vocab_gives_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vocab = 'data/synthetic_refsegrs/bert_vocab/vocab.txt'
    with pytest.raises(FileNotFoundError) as err:
        build_tokenizer(vocab)
    message = str(err.value)
    assert message.startswith(f'tokenizer {vocab} does not exist (looked for at '
                              f'{tmp_path / vocab})')
    command = next(line.strip() for line in message.splitlines() if 'make_synthetic' in line)
    assert command == ('python tools/dataset_converters/make_synthetic.py refsegrs '
                       'data/synthetic_refsegrs --num-images 2000 --size 128 --seed 0')
    # the command is one the generator's CLI accepts, writing where the vocab is looked for
    monkeypatch.setattr('sys.argv', command.split()[1:])
    args = _load_make_synthetic().parse_args()
    assert (args.format, args.out_dir, args.num_images) == ('refsegrs', 'data/synthetic_refsegrs',
                                                            2000)
    with pytest.raises(FileNotFoundError, match='make_synthetic.py rrsisd data/synthetic_rrsisd '):
        build_tokenizer('data/synthetic_rrsisd/bert_vocab')


def test_missing_other_path_is_named_without_a_generator_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ('./my_vocab', 'my_vocab.txt', str(tmp_path / 'nowhere' / 'vocab.txt')):
        with pytest.raises(FileNotFoundError, match=f'tokenizer {name} does not exist') as err:
            build_tokenizer(name)
        assert 'make_synthetic' not in str(err.value)
    monkeypatch.setenv('HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f'looked for at {tmp_path}/vocab.txt'):
        build_tokenizer('~/vocab.txt')


def test_hub_names_and_existing_paths_reach_transformers(tmp_path, monkeypatch):
    from transformers import BertTokenizerFast
    loaded = []
    monkeypatch.setattr(BertTokenizerFast, 'from_pretrained',
                        classmethod(lambda cls, name, **kwargs: loaded.append(name)))
    build_tokenizer('bert-base-uncased')
    build_tokenizer('google-bert/bert-base-uncased')
    vocab = build_vocab(EXPRESSIONS, str(tmp_path / 'bert_vocab'), vocab_size=200)
    build_tokenizer(vocab)
    monkeypatch.setenv('HOME', str(tmp_path))
    build_tokenizer('~/bert_vocab')
    assert loaded == ['bert-base-uncased', 'google-bert/bert-base-uncased',
                      str(tmp_path / 'bert_vocab'), str(tmp_path / 'bert_vocab')]
