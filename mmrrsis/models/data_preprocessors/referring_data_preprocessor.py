"""Image normalisation (mmseg's) plus batch tokenization of the referring expressions."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.models.data_preprocessor import SegDataPreProcessor

from mmrrsis.registry import MODELS
from ..utils.text_feats import (ATTENTION_MASK, INPUT_IDS, MASKED_IDS, MASKED_TOKEN_MASK,
                                TOKEN_KEYS)


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


def _is_wordpiece_vocab(path: str) -> bool:
    """Whether ``path`` is a bare WordPiece vocabulary: a ``vocab.txt`` or a folder holding
    one without a ``tokenizer.json`` or ``tokenizer_config.json``."""
    if osp.isfile(path):
        return True
    return (osp.isdir(path) and osp.isfile(osp.join(path, 'vocab.txt'))
            and not osp.isfile(osp.join(path, 'tokenizer.json'))
            and not osp.isfile(osp.join(path, 'tokenizer_config.json')))


def build_tokenizer(name_or_path: str, tokenizer_cls: str = 'AutoTokenizer', **kwargs):
    """Builds a fast ``transformers`` tokenizer.

    Args:
        name_or_path (str): A hub name (``'bert-base-uncased'``,
            ``'google/siglip2-so400m-patch16-512'``; downloaded once and cached by
            transformers), a local tokenizer folder, or a WordPiece ``vocab.txt`` (or a folder
            holding only one), which gives a lower-casing BERT tokenizer.
        tokenizer_cls (str): The ``transformers`` class whose ``from_pretrained`` loads a hub
            name or folder. Defaults to 'AutoTokenizer'.
        **kwargs: Passed to ``from_pretrained``.

    Returns:
        transformers.PreTrainedTokenizerFast: The tokenizer.

    Raises:
        FileNotFoundError: When ``name_or_path`` looks like a path (see
            :func:`_looks_like_path`) but does not exist; for a vocabulary of the synthetic
            data the message gives the command that makes it.
    """
    import transformers
    if _looks_like_path(name_or_path):
        # transformers would take a missing path for a malformed hub id and say so
        expanded = osp.expanduser(name_or_path)
        if not osp.exists(expanded):
            raise FileNotFoundError(_missing_tokenizer_message(name_or_path))
        name_or_path = expanded
    if osp.isfile(name_or_path) and osp.basename(name_or_path) != 'vocab.txt':
        raise ValueError(f'tokenizer file {name_or_path} must be a WordPiece "vocab.txt" '
                         '(or give its folder, or a hub name)')
    if osp.isdir(name_or_path) and not any(
            osp.isfile(osp.join(name_or_path, f))
            for f in ('vocab.txt', 'tokenizer.json', 'tokenizer_config.json')):
        raise FileNotFoundError(f'tokenizer folder {name_or_path} holds neither vocab.txt, '
                                'tokenizer.json nor tokenizer_config.json')
    if _is_wordpiece_vocab(name_or_path):
        folder = name_or_path if osp.isdir(name_or_path) else \
            osp.dirname(osp.abspath(name_or_path))
        # from_pretrained reads a bare vocab.txt correctly in transformers 4 and 5 (the
        # vocab_file constructor argument is ignored by transformers 5's fast tokenizer)
        return transformers.BertTokenizerFast.from_pretrained(folder, do_lower_case=True,
                                                              **kwargs)
    if not hasattr(transformers, tokenizer_cls):
        raise ValueError(f'tokenizer_cls={tokenizer_cls!r} is not a transformers class')
    tokenizer = getattr(transformers, tokenizer_cls).from_pretrained(name_or_path, **kwargs)
    if not tokenizer.is_fast:
        raise ValueError(f'tokenizer {name_or_path} loaded as the slow {type(tokenizer).__name__}'
                         '; ReferringDataPreProcessor needs a fast tokenizer (offset mapping)')
    return tokenizer


TRUNCATIONS = ('keep_sep', 'slice')
PADDINGS = ('max_length', 'longest')
KEY_PHRASE = MASKED_TOKEN_MASK


def spans_to_token_mask(offsets: torch.Tensor,
                        spans: Sequence[Sequence[Sequence[int]]]) -> torch.Tensor:
    """Marks the word pieces that overlap character spans.

    Args:
        offsets (Tensor): (B, Nt, 2) character offsets of the word pieces (the tokenizer's
            offset mapping); special tokens and padding have empty offsets (start == end)
            and are never marked.
        spans (Sequence): Per sample, a list of (start, end) character spans (may be empty).

    Returns:
        Tensor: (B, Nt) bool, True at the pieces overlapping any of the sample's spans.
    """
    mask = torch.zeros(offsets.shape[:2], dtype=torch.bool)
    for i, sample_spans in enumerate(spans):
        if not sample_spans:
            continue
        span = torch.as_tensor(sample_spans, dtype=offsets.dtype).view(-1, 2)
        start, end = offsets[i, :, :1], offsets[i, :, 1:]
        overlap = (start < span[:, 1]) & (span[:, 0] < end) & (end > start)
        mask[i] = overlap.any(dim=1)
    return mask


@MODELS.register_module()
class ReferringDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also tokenizes each sample's expression once per batch.

    Every data sample receives a ``text`` field (:class:`BaseDataElement`) with the fields of
    :mod:`mmrrsis.models.utils.text_feats`: ``input_ids`` and ``attention_mask`` (``max_length``
    tokens, or the batch's longest with ``padding='longest'``), ``masked_ids``: ``input_ids``
    with the pieces of the key phrase (metainfo ``key_phrase_spans``, character spans set by a
    key-phrase transform) replaced by the padding id, and
    ``masked_token_mask``: True at those replaced pieces (what ``DMOLSHead(rec_tokens=
    'masked')`` reconstructs). Without spans ``masked_ids`` equals ``input_ids``.

    ``span_masks`` adds further (B, Nt) attention masks built the same way from other
    character spans of the metainfo, e.g. FIANet's ground-object and spatial-position parts
    (``dict(object_mask='object_spans', position_mask='position_spans')``): 1 at the word
    pieces overlapping the sample's spans, 0 elsewhere (special tokens and padding included),
    in the dtype of ``attention_mask``. Going through the tokenizer's offsets, a word split
    into several pieces is marked whole, and a span past the cut is clipped to ``max_length``.
    A mask named in ``span_mask_fallbacks`` is replaced, for a sample where it came out empty
    (no spans, or all past the cut), by the mask it names (FIANet: the position mask falls
    back to ``attention_mask``).

    A sample whose spans overlap no kept word piece (they lie past the ``max_length`` cut)
    is counted per mask in :attr:`num_spans_cut` (the key phrase's count also as
    :attr:`num_unmasked_truncated`, next to ``KeyPhraseMasker.num_unmasked``; per process) and
    logged once per mask; its key phrase stays unmasked, its span mask empty (or the
    fallback).

    Tokenizing here rather than in the pipeline keeps the tokenizer out of the data workers
    and lets one call serve the whole batch.

    Args:
        tokenizer (str | dict): Tokenizer name or path, or a dict of :func:`build_tokenizer`
            arguments (``name_or_path``, ``tokenizer_cls``, ``from_pretrained`` options): any
            fast ``transformers`` tokenizer. Defaults to 'bert-base-uncased'.
        max_length (int): Tokens per expression, special tokens included. Defaults to 20.
        padding (str): ``'max_length'`` (every expression padded to ``max_length``) or
            ``'longest'`` (to the batch's longest, at most ``max_length``). Defaults to
            'max_length'.
        truncation (str): How a longer expression is cut: ``'keep_sep'`` (the tokenizer's
            truncation, which keeps the closing special token, BERT's [SEP]) or ``'slice'``
            (the first ``max_length`` ids of the full encoding, so [SEP] is lost, as the
            LAVT-lineage codes cut). Defaults to 'keep_sep'.
        span_masks (dict[str, str], optional): Name of each extra mask -> the metainfo key
            of its character spans. Defaults to None (no extra mask).
        span_mask_fallbacks (dict[str, str], optional): Name of a span mask -> the mask
            (``'attention_mask'`` or another span mask) taking its place where it is empty.
            Defaults to None.
        **kwargs: Passed to :class:`mmseg.models.SegDataPreProcessor`.
    """

    def __init__(self,
                 tokenizer: Union[str, dict] = 'bert-base-uncased',
                 max_length: int = 20,
                 padding: str = 'max_length',
                 truncation: str = 'keep_sep',
                 span_masks: Optional[Dict[str, str]] = None,
                 span_mask_fallbacks: Optional[Dict[str, str]] = None,
                 **kwargs):
        super().__init__(**kwargs)
        if truncation not in TRUNCATIONS:
            raise ValueError(f'ReferringDataPreProcessor: truncation must be one of '
                             f'{TRUNCATIONS}, got {truncation!r}')
        span_masks = dict(span_masks or {})
        span_mask_fallbacks = dict(span_mask_fallbacks or {})
        reserved = sorted(set(span_masks) & set(TOKEN_KEYS))
        if reserved:
            raise ValueError(f'ReferringDataPreProcessor: span_masks may not be named '
                             f'{reserved}; these text fields are always written')
        for name, fallback in span_mask_fallbacks.items():
            if name not in span_masks:
                raise ValueError(f'ReferringDataPreProcessor: span_mask_fallbacks names '
                                 f'{name!r}, which is not one of span_masks {sorted(span_masks)}')
            if fallback != 'attention_mask' and fallback not in span_masks:
                raise ValueError(f'ReferringDataPreProcessor: the fallback of {name!r} must be '
                                 f"'attention_mask' or one of span_masks, got {fallback!r}")
        if padding not in PADDINGS:
            raise ValueError(f'ReferringDataPreProcessor: padding must be one of {PADDINGS}, '
                             f'got {padding!r}')
        tokenizer_args = dict(tokenizer) if isinstance(tokenizer, dict) else \
            dict(name_or_path=tokenizer)
        self.tokenizer_name = tokenizer_args['name_or_path']
        self.tokenizer = build_tokenizer(**tokenizer_args)
        if self.tokenizer.pad_token_id is None:
            raise ValueError(f'tokenizer {self.tokenizer_name} has no padding token; '
                             'ReferringDataPreProcessor pads the expressions with it')
        self.max_length = max_length
        self.padding = padding
        self.truncation = truncation
        self.span_masks = span_masks
        self.span_mask_fallbacks = span_mask_fallbacks
        self._warned_truncation = False
        self.num_spans_cut = dict.fromkeys((KEY_PHRASE, *span_masks), 0)

    @property
    def num_unmasked_truncated(self) -> int:
        """int: Samples whose key phrase lies wholly past the cut (left unmasked)."""
        return self.num_spans_cut[KEY_PHRASE]

    @num_unmasked_truncated.setter
    def num_unmasked_truncated(self, value: int) -> None:
        self.num_spans_cut[KEY_PHRASE] = value

    def tokenize(self,
                 expressions: List[str],
                 key_phrase_spans: Optional[List] = None,
                 device: Union[str, torch.device] = 'cpu',
                 span_lists: Optional[Dict[str, List]] = None) -> Dict[str, torch.Tensor]:
        """Tokenizes a batch of expressions.

        Args:
            expressions (list[str]): One expression per sample.
            key_phrase_spans (list, optional): Per sample, a list of (start, end) character
                spans whose word pieces are masked in ``masked_ids``. Defaults to None.
            device (str | torch.device): Where the tensors go. Defaults to 'cpu'.
            span_lists (dict[str, list], optional): For each of ``span_masks``, per sample
                a list of (start, end) character spans. Defaults to None (all masks empty).

        Returns:
            dict: ``input_ids``, ``attention_mask``, ``masked_ids``, each (B, max_length)
            long, ``masked_token_mask`` (B, max_length) bool, True where ``masked_ids``
            holds [PAD] in place of a key-phrase word piece, and each of ``span_masks``
            (B, max_length) like ``attention_mask``.
        """
        keep = self.max_length + (self.truncation == 'slice')
        enc = self.tokenizer(
            expressions,
            padding=self.padding,
            truncation=True,
            max_length=keep,
            return_offsets_mapping=True,
            return_overflowing_tokens=False,
            return_tensors='pt')
        if self.truncation == 'slice':
            # one piece more than kept, then cut: the same as slicing the untruncated ids
            over = enc['attention_mask'][:, self.max_length:self.max_length + 1]
            truncated = over.bool().any(dim=1).tolist()
        else:
            truncated = [bool(e.overflowing) for e in enc.encodings]
        self._log_truncation(expressions, truncated)
        input_ids = enc['input_ids'][:, :self.max_length]
        attention_mask = enc['attention_mask'][:, :self.max_length]
        offsets = enc['offset_mapping'][:, :self.max_length]

        def token_mask(name: str, spans: Optional[List]) -> torch.Tensor:
            spans = spans or [[]] * len(expressions)
            mask = spans_to_token_mask(offsets, spans)
            for i, sample_spans in enumerate(spans):
                if sample_spans and not mask[i].any():
                    self._count_cut(name, expressions[i], sample_spans)
            return mask

        masked_token_mask = token_mask(KEY_PHRASE, key_phrase_spans)
        text = {
            INPUT_IDS: input_ids,
            ATTENTION_MASK: attention_mask,
            MASKED_IDS: input_ids.masked_fill(masked_token_mask, self.tokenizer.pad_token_id),
            MASKED_TOKEN_MASK: masked_token_mask,
        }
        span_lists = span_lists or {}
        for name in self.span_masks:
            text[name] = token_mask(name, span_lists.get(name)).to(attention_mask.dtype)
        for name, fallback in self.span_mask_fallbacks.items():
            empty = ~text[name].bool().any(dim=1, keepdim=True)
            text[name] = torch.where(empty, text[fallback], text[name])
        return {key: value.to(device) for key, value in text.items()}

    def _count_cut(self, name: str, expression: str, spans: Sequence[Sequence[int]]) -> None:
        self.num_spans_cut[name] += 1
        if self.num_spans_cut[name] > 1:
            return
        phrases = ', '.join(f'"{expression[start:end]}"' for start, end in spans)
        if name == KEY_PHRASE:
            message = (f'key phrase {phrases} of "{expression}" overlaps no word piece kept '
                       f'within the {self.max_length}-token cut, so its masked text equals '
                       'the text. Further such samples are only counted '
                       '(ReferringDataPreProcessor.num_unmasked_truncated).')
        else:
            fallback = self.span_mask_fallbacks.get(name)
            outcome = f'falls back to {fallback}' if fallback else 'is empty'
            message = (f'{self.span_masks[name]} {phrases} of "{expression}" overlap no word '
                       f'piece kept within the {self.max_length}-token cut, so its {name} '
                       f'{outcome}. Further such samples are only counted '
                       f"(ReferringDataPreProcessor.num_spans_cut['{name}']).")
        print_log(message, logger='current', level=logging.WARNING)

    def _log_truncation(self, expressions: List[str], truncated: List[bool]) -> None:
        if self._warned_truncation or not any(truncated):
            return
        expression = expressions[truncated.index(True)]
        print_log(
            f'expression "{expression}" is longer than {self.max_length} tokens and '
            'was truncated; further truncations are not logged.', logger='current')
        self._warned_truncation = True

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
        span_lists = {}
        for name, key in self.span_masks.items():
            span_lists[name] = [s.metainfo.get(key) for s in samples]
            missing = [i for i, value in enumerate(span_lists[name]) if value is None]
            if missing:
                raise ValueError(
                    f'ReferringDataPreProcessor builds {name} from the metainfo {key!r}, which '
                    f'data sample {missing[0]} ({samples[missing[0]].metainfo.get("img_path")}) '
                    'lacks: put the transform that sets it (e.g. FIANetTextDecoupler) in the '
                    f'pipeline and {key!r} in the meta_keys of PackReferringInputs')
        text = self.tokenize(expressions, spans if any(spans) else None, data['inputs'].device,
                             span_lists)
        for i, sample in enumerate(samples):
            sample.text = BaseDataElement(**{k: v[i] for k, v in text.items()})
        return data
