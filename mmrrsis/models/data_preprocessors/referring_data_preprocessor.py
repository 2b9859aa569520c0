"""Image normalisation (mmseg's) plus batch tokenization of the referring expressions."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.models.data_preprocessor import SegDataPreProcessor

from mmrrsis.registry import MODELS


def build_tokenizer(name_or_path: str):
    """Builds a fast BERT WordPiece tokenizer.

    Args:
        name_or_path (str): A hub name (``bert-base-uncased``, downloaded once and cached by
            transformers), a local folder with ``vocab.txt``, or a ``vocab.txt`` file itself.

    Returns:
        transformers.BertTokenizerFast: The tokenizer.
    """
    from transformers import BertTokenizerFast
    if osp.isfile(name_or_path):
        if osp.basename(name_or_path) != 'vocab.txt':
            raise ValueError(f'tokenizer file {name_or_path} must be a WordPiece "vocab.txt" '
                             '(or give its folder, or a hub name)')
        name_or_path = osp.dirname(osp.abspath(name_or_path))
    if osp.isdir(name_or_path) and not osp.isfile(osp.join(name_or_path, 'vocab.txt')) \
            and not osp.isfile(osp.join(name_or_path, 'tokenizer.json')):
        raise FileNotFoundError(f'tokenizer folder {name_or_path} holds neither vocab.txt '
                                'nor tokenizer.json')
    # Loading through from_pretrained reads a bare vocab.txt correctly in transformers 4 and 5
    # (the vocab_file constructor argument is ignored by transformers 5's fast tokenizer).
    return BertTokenizerFast.from_pretrained(name_or_path, do_lower_case=True)


def _overlaps(offset: Tuple[int, int], spans: Sequence[Sequence[int]]) -> bool:
    start, end = offset
    return end > start and any(start < s_end and s_start < end for s_start, s_end in spans)


@MODELS.register_module()
class ReferringDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also tokenizes each sample's expression once per batch.

    Every data sample receives a ``text`` field (:class:`BaseDataElement`) holding
    ``input_ids`` and ``attention_mask`` (``max_length`` tokens, padded), and ``masked_ids``:
    ``input_ids`` with the word pieces of the key phrase (metainfo ``key_phrase_spans``,
    character spans set by a key-phrase transform) replaced by the [PAD] id. Without spans
    ``masked_ids`` equals ``input_ids``.

    Tokenizing here rather than in the pipeline keeps the tokenizer out of the data workers
    and lets one call serve the whole batch.

    Args:
        tokenizer (str): Tokenizer name or path, see :func:`build_tokenizer`.
            Defaults to 'bert-base-uncased'.
        max_length (int): Tokens per expression, [CLS] and [SEP] included. Defaults to 20.
        **kwargs: Passed to :class:`mmseg.models.SegDataPreProcessor`.
    """

    def __init__(self, tokenizer: str = 'bert-base-uncased', max_length: int = 20, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer_name = tokenizer
        self.tokenizer = build_tokenizer(tokenizer)
        self.max_length = max_length
        self._warned_truncation = False

    def tokenize(self, expressions: List[str], key_phrase_spans: Optional[List] = None,
                 device: Union[str, torch.device] = 'cpu') -> Dict[str, torch.Tensor]:
        """Tokenizes a batch of expressions.

        Args:
            expressions (list[str]): One expression per sample.
            key_phrase_spans (list, optional): Per sample, a list of (start, end) character
                spans whose word pieces are masked in ``masked_ids``. Defaults to None.
            device (str | torch.device): Where the tensors go. Defaults to 'cpu'.

        Returns:
            dict: ``input_ids``, ``attention_mask``, ``masked_ids``, each (B, max_length) long.
        """
        enc = self.tokenizer(
            expressions,
            padding='max_length',
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=True,
            return_overflowing_tokens=False,
            return_tensors='pt')
        self._log_truncation(expressions, enc)
        input_ids = enc['input_ids']
        masked_ids = input_ids.clone()
        if key_phrase_spans is not None:
            pad_id = self.tokenizer.pad_token_id
            for i, spans in enumerate(key_phrase_spans):
                if not spans:
                    continue
                for j, offset in enumerate(enc['offset_mapping'][i].tolist()):
                    if _overlaps(offset, spans):
                        masked_ids[i, j] = pad_id
        return dict(
            input_ids=input_ids.to(device),
            attention_mask=enc['attention_mask'].to(device),
            masked_ids=masked_ids.to(device))

    def _log_truncation(self, expressions: List[str], enc) -> None:
        if self._warned_truncation:
            return
        for i, encoding in enumerate(enc.encodings):
            if encoding.overflowing:
                print_log(
                    f'expression "{expressions[i]}" is longer than {self.max_length} tokens and '
                    'was truncated; further truncations are not logged.', logger='current')
                self._warned_truncation = True
                return

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalises and pads images (mmseg) and attaches the tokenized text to the samples."""
        data = super().forward(data, training)
        samples = data['data_samples']
        if samples is None:
            raise ValueError('ReferringDataPreProcessor needs data samples carrying an '
                             '"expression" in their metainfo')
        expressions = []
        for i, sample in enumerate(samples):
            expression = sample.metainfo.get('expression')
            if expression is None or not str(expression).strip():
                raise ValueError(f'data sample {i} ({sample.metainfo.get("img_path")}) has no '
                                 'referring expression in its metainfo')
            expressions.append(str(expression))
        spans = [s.metainfo.get('key_phrase_spans') for s in samples]
        text = self.tokenize(expressions, spans if any(spans) else None, data['inputs'].device)
        for i, sample in enumerate(samples):
            sample.text = BaseDataElement(**{k: v[i] for k, v in text.items()})
        return data
