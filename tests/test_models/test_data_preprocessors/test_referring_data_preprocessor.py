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
    from types import SimpleNamespace

    from transformers import AutoTokenizer, BertTokenizerFast
    loaded = []

    def record(kind):
        def from_pretrained(cls, name, **kwargs):
            loaded.append((kind, name))
            return SimpleNamespace(is_fast=True)
        return classmethod(from_pretrained)

    monkeypatch.setattr(BertTokenizerFast, 'from_pretrained', record('wordpiece'))
    monkeypatch.setattr(AutoTokenizer, 'from_pretrained', record('auto'))
    build_tokenizer('bert-base-uncased')
    build_tokenizer('google/siglip2-so400m-patch16-512')
    vocab = build_vocab(EXPRESSIONS, str(tmp_path / 'bert_vocab'), vocab_size=200)
    build_tokenizer(vocab)
    monkeypatch.setenv('HOME', str(tmp_path))
    build_tokenizer('~/bert_vocab')
    folder = str(tmp_path / 'bert_vocab')
    assert loaded == [('auto', 'bert-base-uncased'),
                      ('auto', 'google/siglip2-so400m-patch16-512'),
                      ('wordpiece', folder), ('wordpiece', folder)]


def test_any_fast_tokenizer_with_its_own_padding(tmp_path):
    """A non-BERT tokenizer folder (word-level, no [CLS]/[SEP], '<pad>' = 0), padded to the
    batch's longest expression: ids, masks and the masked text follow its own tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    words = ['<pad>', '<unk>', 'the', 'red', 'car', 'on', 'left', 'blue', 'bus']
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>'))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=core, pad_token='<pad>',
                            unk_token='<unk>').save_pretrained(str(tmp_path / 'tok'))
    preprocessor = ReferringDataPreProcessor(
        tokenizer=dict(name_or_path=str(tmp_path / 'tok')), max_length=8, padding='longest')
    data = preprocessor(_batch(['the red car on the left', 'the blue bus']))
    first, second = (s.text for s in data['data_samples'])
    assert first.input_ids.tolist() == [2, 3, 4, 5, 2, 6]
    assert second.input_ids.tolist() == [2, 7, 8, 0, 0, 0]
    assert second.attention_mask.tolist() == [1, 1, 1, 0, 0, 0]
    # the lexicon's key phrases ('the red car', 'the blue bus') take the padding id
    assert first.masked_ids.tolist() == [0, 0, 0, 5, 2, 6]
    assert second.masked_token_mask.tolist() == [True, True, True, False, False, False]
    with pytest.raises(ValueError, match='padding must be one of'):
        ReferringDataPreProcessor(tokenizer=str(tmp_path / 'tok'), padding='do_not_pad')


# span masks (FIANet's object / position masks), the 'slice' truncation
SPAN_WORDS = ('[PAD] [UNK] [CLS] [SEP] [MASK] the car in upper - left corner near express '
              '##way toll station on right a').split()


@pytest.fixture(scope='module')
def span_preprocessor(tmp_path_factory):
    folder = tmp_path_factory.mktemp('span_vocab')
    (folder / 'vocab.txt').write_text('\n'.join(SPAN_WORDS) + '\n')
    return ReferringDataPreProcessor(
        tokenizer=str(folder), max_length=10, truncation='slice',
        span_masks=dict(object_mask='object_spans', position_mask='position_spans'),
        span_mask_fallbacks=dict(position_mask='attention_mask'))


def _span_batch(items):
    samples = [SegDataSample(metainfo=dict(expression=e, object_spans=o, position_spans=p))
               for e, o, p in items]
    return dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * len(samples),
                data_samples=samples)


def _pieces(pre, ids, mask):
    return [t for t, m in zip(pre.tokenizer.convert_ids_to_tokens(ids.tolist()), mask) if m]


def test_span_masks_mark_every_word_piece_of_the_spans(span_preprocessor):
    pre = span_preprocessor
    expression = 'the car in the upper-left corner'
    # character spans: "car", "in the upper-left corner"
    data = pre(_span_batch([(expression, [(4, 7)], [(8, 32)])]))
    text = data['data_samples'][0].text
    assert set(text.keys()) == {'input_ids', 'attention_mask', 'masked_ids',
                                'masked_token_mask', 'object_mask', 'position_mask'}
    assert text.object_mask.dtype == text.attention_mask.dtype == torch.long
    assert text.object_mask.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    # "upper-left" is three pieces, all marked; [CLS], [SEP] and padding never are
    assert text.position_mask.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]
    assert _pieces(pre, text.input_ids, text.position_mask) == ['in', 'the', 'upper', '-',
                                                                'left', 'corner']
    # a word split by WordPiece is marked whole: "expressway" -> express ##way
    expression = 'the expressway toll station'
    text = pre(_span_batch([(expression, [(4, 27)], [])]))['data_samples'][0].text
    assert _pieces(pre, text.input_ids, text.object_mask) == ['express', '##way', 'toll',
                                                              'station']


def test_empty_position_falls_back_to_the_attention_mask(span_preprocessor):
    text = span_preprocessor.tokenize(['the car', 'on the right'], span_lists=dict(
        object_mask=[[], [(7, 12)]], position_mask=[[], [(0, 12)]]))
    assert text['object_mask'].tolist()[0] == [0] * 10
    assert text['position_mask'][0].tolist() == text['attention_mask'][0].tolist() == \
        [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert text['position_mask'][1].tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert text['object_mask'][1].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_slice_truncation_keeps_the_first_ids_and_clips_the_masks(span_preprocessor, logs):
    pre = span_preprocessor
    pre.num_spans_cut.update(object_mask=0, position_mask=0)
    # 13 pieces with [CLS] and [SEP]: the first 10 are kept, [SEP] is lost
    expression = 'the car near the car near the car on the right'
    full = pre.tokenizer(expression)['input_ids']
    assert len(full) == 13
    text = pre.tokenize([expression], span_lists=dict(
        object_mask=[[(4, 7), (41, 46)]], position_mask=[[(37, 46)]]))
    assert text['input_ids'][0].tolist() == full[:10]
    assert text['attention_mask'][0].tolist() == [1] * 10
    assert pre.tokenizer.sep_token_id not in text['input_ids'][0].tolist()
    # "right" lies past the cut: the object mask keeps "car" only; "the right" starts at
    # piece 10, so the position mask is empty and falls back to the attention mask
    assert text['object_mask'][0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert text['position_mask'][0].tolist() == [1] * 10
    assert pre.num_spans_cut == dict(masked_token_mask=pre.num_unmasked_truncated,
                                     object_mask=0, position_mask=1)
    pre.tokenize([expression], span_lists=dict(object_mask=[[]], position_mask=[[(37, 46)]]))
    assert pre.num_spans_cut['position_mask'] == 2
    cut_logs = [m for m in logs if "num_spans_cut['position_mask']" in m]
    assert cut_logs == [
        f'position_spans "the right" of "{expression}" overlap no word piece kept within '
        'the 10-token cut, so its position_mask falls back to attention_mask. Further such '
        "samples are only counted (ReferringDataPreProcessor.num_spans_cut['position_mask'])."]
    # the default truncation keeps [SEP] as the last piece
    keep_sep = ReferringDataPreProcessor(tokenizer=pre.tokenizer_name, max_length=10)
    ids = keep_sep.tokenize([expression])['input_ids'][0].tolist()
    assert ids == full[:9] + [pre.tokenizer.sep_token_id]


def test_slice_truncation_of_an_expression_one_piece_too_long(span_preprocessor):
    # 11 pieces: nothing overflows the tokenizer's 11-piece cut, yet [SEP] must go
    expression = 'the car near the car near the car near'
    full = span_preprocessor.tokenizer(expression)['input_ids']
    assert len(full) == 11
    text = span_preprocessor.tokenize([expression])
    assert text['input_ids'][0].tolist() == full[:10]


def test_span_mask_configuration_errors(span_preprocessor):
    vocab = span_preprocessor.tokenizer_name
    with pytest.raises(ValueError, match='truncation must be one of'):
        ReferringDataPreProcessor(tokenizer=vocab, truncation='tail')
    with pytest.raises(ValueError, match=r"may not be named \['attention_mask'\]"):
        ReferringDataPreProcessor(tokenizer=vocab, span_masks=dict(attention_mask='spans'))
    with pytest.raises(ValueError, match="names 'object_mask', which is not one of"):
        ReferringDataPreProcessor(tokenizer=vocab,
                                  span_mask_fallbacks=dict(object_mask='attention_mask'))
    with pytest.raises(ValueError, match="fallback of 'object_mask' must be"):
        ReferringDataPreProcessor(tokenizer=vocab, span_masks=dict(object_mask='spans'),
                                  span_mask_fallbacks=dict(object_mask='input_ids'))
    sample = SegDataSample(metainfo=dict(expression='the car', position_spans=[]))
    with pytest.raises(ValueError, match="builds object_mask from the metainfo 'object_spans'"):
        span_preprocessor(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)],
                               data_samples=[sample]))
