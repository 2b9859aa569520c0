"""BertTextEncoder: pretrained weights are loaded by init_weights, not at build time."""
import os
import os.path as osp

import pytest
import torch
from transformers import BertConfig, BertModel

from mmrrsis.models.text_encoders import BertTextEncoder

TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=24)


@pytest.fixture
def saved_bert(tmp_path):
    torch.manual_seed(0)
    source = BertModel(BertConfig(**TINY), add_pooling_layer=False)
    folder = str(tmp_path / 'bert')
    source.save_pretrained(folder)
    return folder, source


def _equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))


def test_build_reads_the_config_only_and_init_weights_loads(saved_bert):
    folder, source = saved_bert
    weights = [f for f in os.listdir(folder) if f != 'config.json']
    hidden = {f: osp.join(folder, f + '.away') for f in weights}
    for name, away in hidden.items():  # a folder with config.json only still builds
        os.rename(osp.join(folder, name), away)
    torch.manual_seed(1)
    encoder = BertTextEncoder(folder, pretrained=True, stages=(1, 1, 1, 1))
    assert encoder.embed_dims == 16 and encoder.num_stages == 4
    assert not _equal(encoder.bert, source)
    with pytest.raises(OSError):  # the weights are read by init_weights, not before
        encoder.init_weights()
    for name, away in hidden.items():
        os.rename(away, osp.join(folder, name))
    encoder.init_weights()
    assert _equal(encoder.bert, source)


def test_random_weights_are_left_alone_by_init_weights():
    torch.manual_seed(0)
    encoder = BertTextEncoder(pretrained=False, bert_config=TINY, stages=(2, 2))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    encoder.init_weights()
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())


def test_stages_must_cover_the_layers():
    with pytest.raises(ValueError, match='sum to 3'):
        BertTextEncoder(pretrained=False, bert_config=TINY, stages=(1, 2))
