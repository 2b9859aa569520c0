"""Image normalisation (mmseg's) plus batch tokenization of the referring expressions."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.models.data_preprocessor import SegDataPreProcessor

from mmrrsis.registry import MODELS


SYNTHETIC_FORMATS = ('refsegrs', 'rrsisd')


def _looks_like_path(name: str) -> bool:
    """Whether a tokenizer name means a local file or folder rather than a hub repo id.

    Hub ids are ``name`` or ``namespace/name``, so one '/' alone is not enough: a name is a
    path when it starts with '.', '~' or a separator, contains a backslash or two '/', ends
    in ``.txt`` / ``.json``, or its part before the '/' is an existing local folder.
    """
    return (name.startswith(('.', '~', '/', '\\')) or '\\' in name or name.count('/') > 1
            or name.endswith(('.txt', '.json'))
            or ('/' in name and osp.isdir(name.split('/')[0])))


def _missing_tokenizer_message(path: str) -> str:
    message = f'tokenizer {path} does not exist'
    full = osp.abspath(osp.expanduser(path))
    if full != path:
        message += f' (looked for at {full})'
    parts = path.replace('\\', '/').split('/')
    synthetic = [i for i, part in enumerate(parts) if part.startswith('synthetic_')]
    if synthetic:
        # the synthetic generator writes the vocabulary next to the data it makes
        i = synthetic[0]
        fmt = parts[i][len('synthetic_'):]
        fmt = fmt if fmt in SYNTHETIC_FORMATS else '{' + ','.join(SYNTHETIC_FORMATS) + '}'
        root = '/'.join(parts[:i + 1])
        return (f'{message}. It is written with the synthetic dataset; make both with\n'
                f'    python tools/dataset_converters/make_synthetic.py {fmt} {root} '
                '--num-images 2000 --size 128 --seed 0\n'
                '(what tools/quickstart.sh runs), or set model.data_preprocessor.tokenizer '
                "to another vocabulary or a hub name such as 'bert-base-uncased'")
    return (f'{message}; give an existing vocab.txt or tokenizer folder, or a hub name such '
            "as 'bert-base-uncased' (model.data_preprocessor.tokenizer)")


def build_tokenizer(name_or_path: str):
    """Builds a fast BERT WordPiece tokenizer.

    Args:
        name_or_path (str): A hub name (``bert-base-uncased``, downloaded once and cached by
            transformers), a local folder with ``vocab.txt``, or a ``vocab.txt`` file itself.

    Returns:
        transformers.BertTokenizerFast: The tokenizer.

    Raises:
        FileNotFoundError: When ``name_or_path`` looks like a path (see
            :func:`_looks_like_path`) but does not exist; for a vocabulary of the synthetic
            data the message gives the command that makes it.
    """
    from transformers import BertTokenizerFast
    if _looks_like_path(name_or_path):
        # transformers would take a missing path for a malformed hub id and say so
        expanded = osp.expanduser(name_or_path)
        if not osp.exists(expanded):
            raise FileNotFoundError(_missing_tokenizer_message(name_or_path))
        name_or_path = expanded
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
    ``input_ids`` and ``attention_mask`` (``max_length`` tokens, padded), ``masked_ids``:
    ``input_ids`` with the word pieces of the key phrase (metainfo ``key_phrase_spans``,
    character spans set by a key-phrase transform) replaced by the [PAD] id, and
    ``masked_token_mask``: True at those replaced pieces (what ``DMOLSHead(rec_tokens=
    'masked')`` reconstructs). Without spans ``masked_ids`` equals ``input_ids``.

    A sample whose spans overlap no kept word piece (its key phrase lies past the
    ``max_length`` cut) stays unmasked: counted in :attr:`num_unmasked_truncated`
    (per process, next to ``KeyPhraseMasker.num_unmasked``) and logged once.

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
        self.num_unmasked_truncated = 0

    def tokenize(self, expressions: List[str], key_phrase_spans: Optional[List] = None,
                 device: Union[str, torch.device] = 'cpu') -> Dict[str, torch.Tensor]:
        """Tokenizes a batch of expressions.

        Args:
            expressions (list[str]): One expression per sample.
            key_phrase_spans (list, optional): Per sample, a list of (start, end) character
                spans whose word pieces are masked in ``masked_ids``. Defaults to None.
            device (str | torch.device): Where the tensors go. Defaults to 'cpu'.

        Returns:
            dict: ``input_ids``, ``attention_mask``, ``masked_ids``, each (B, max_length)
            long, and ``masked_token_mask`` (B, max_length) bool, True where ``masked_ids``
            holds [PAD] in place of a key-phrase word piece.
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
        masked_token_mask = torch.zeros_like(input_ids, dtype=torch.bool)
        for i, spans in enumerate(key_phrase_spans or []):
            if not spans:
                continue
            for j, offset in enumerate(enc['offset_mapping'][i].tolist()):
                masked_token_mask[i, j] = _overlaps(offset, spans)
            if not masked_token_mask[i].any():
                self._count_unmasked(expressions[i], spans)
        masked_ids = input_ids.masked_fill(masked_token_mask, self.tokenizer.pad_token_id)
        return dict(
            input_ids=input_ids.to(device),
            attention_mask=enc['attention_mask'].to(device),
            masked_ids=masked_ids.to(device),
            masked_token_mask=masked_token_mask.to(device))

    def _count_unmasked(self, expression: str, spans: Sequence[Sequence[int]]) -> None:
        self.num_unmasked_truncated += 1
        if self.num_unmasked_truncated == 1:
            phrases = ', '.join(f'"{expression[start:end]}"' for start, end in spans)
            print_log(
                f'key phrase {phrases} of "{expression}" overlaps no word piece kept within '
                f'the {self.max_length}-token cut, so its masked text equals the text. '
                'Further such samples are only counted '
                '(ReferringDataPreProcessor.num_unmasked_truncated).',
                logger='current', level=logging.WARNING)

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
