"""ReferringDataPreProcessor with a SentencePiece-style (Gemma / SigLIP 2 kind) fast tokenizer
built offline: the padding side pinned through the tokenizer dict, longest and max_length
padding, the cut at max_length, the text tower's position limit."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmrrsis.models.data_preprocessors import ReferringDataPreProcessor
from mmrrsis.models.text_encoders import HFSiglipTextTower

WORDS = ['the', 'red', 'car', 'on', 'left', 'a', 'big', 'white', 'house', 'of']


@pytest.fixture(scope='module')
def gemma_like(tmp_path_factory):
    """A word-level vocabulary with Metaspace pre-tokenisation and Gemma's special-token ids (pad 0,
    eos 1, bos 2, unk 3), saved as a tokenizer folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    vocab = {'<pad>': 0, '<eos>': 1, '<bos>': 2, '<unk>': 3}
    vocab.update({f'▁{w}': i + 4 for i, w in enumerate(WORDS)})
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token='<unk>'))
    core.pre_tokenizer = pre_tokenizers.Metaspace()
    core.post_processor = processors.TemplateProcessing(single='$A <eos>',
                                                        special_tokens=[('<eos>', 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token='<pad>',
                                        eos_token='<eos>', bos_token='<bos>', unk_token='<unk>',
                                        padding_side='left')
    folder = str(tmp_path_factory.mktemp('gemma_like'))
    tokenizer.save_pretrained(folder)
    return folder


def _samples(expressions):
    samples = []
    for expression in expressions:
        sample = SegDataSample(metainfo=dict(expression=expression, img_shape=(8, 8)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 8, 8, dtype=torch.long))
        samples.append(sample)
    return samples


def _ids(preprocessor, expressions):
    data = preprocessor(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * len(expressions),
                             data_samples=_samples(expressions)), False)
    return (torch.stack([s.text.input_ids for s in data['data_samples']]),
            torch.stack([s.text.attention_mask for s in data['data_samples']]))


def test_longest_right_padding_pinned(gemma_like):
    pre = ReferringDataPreProcessor(
        tokenizer=dict(name_or_path=gemma_like, padding_side='right'), max_length=64,
        padding='longest')
    ids, mask = _ids(pre, ['the red car on the left', 'a big house'])
    # 6 words + <eos>, and 3 + <eos> padded on the right with <pad> = 0
    assert ids.tolist() == [[4, 5, 6, 7, 4, 8, 1], [9, 10, 12, 1, 0, 0, 0]]
    assert mask.tolist() == [[1] * 7, [1, 1, 1, 1, 0, 0, 0]]


def test_saved_side_and_max_length(gemma_like):
    pre = ReferringDataPreProcessor(tokenizer=gemma_like, max_length=5, padding='max_length')
    ids, mask = _ids(pre, ['the red car on the left', 'a big house'])
    # the folder's left padding; the long expression cut to 5 keeping <eos>
    assert ids.tolist() == [[4, 5, 6, 7, 1], [0, 9, 10, 12, 1]]
    assert mask.tolist() == [[1] * 5, [0, 1, 1, 1, 1]]


def test_text_tower_refuses_more_tokens_than_positions(gemma_like):
    pre = ReferringDataPreProcessor(tokenizer=gemma_like, max_length=12, padding='max_length')
    ids, mask = _ids(pre, ['the red car'])
    tower = HFSiglipTextTower(dict(vocab_size=20, hidden_size=8, intermediate_size=16,
                                   num_hidden_layers=1, num_attention_heads=2,
                                   max_position_embeddings=8))
    with pytest.raises(ValueError, match='max_length <= 8'):
        tower.encode_text(dict(input_ids=ids, attention_mask=mask))
