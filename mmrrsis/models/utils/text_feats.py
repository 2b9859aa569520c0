"""The text contract: the keys the data preprocessor writes and the features the model reads."""
from typing import Dict, Iterable, Mapping, Optional

import torch
from torch import Tensor, nn

# Token fields of every sample's ``text``, written by ``ReferringDataPreProcessor``.
INPUT_IDS = 'input_ids'
ATTENTION_MASK = 'attention_mask'
MASKED_IDS = 'masked_ids'
MASKED_TOKEN_MASK = 'masked_token_mask'
TOKEN_KEYS = (INPUT_IDS, ATTENTION_MASK, MASKED_IDS, MASKED_TOKEN_MASK)


class TextFeats(dict):
    """Encoded expressions, as the text side hands them to necks and heads.

    A dict of tensors with these keys:

    - ``feats`` (B, Nt, C_l): the token features after the last fusion (or the text
      encoder's last hidden state);
    - ``mask`` (B, Nt): 1 for real tokens, 0 for padding;
    - ``<name>_feats`` (B, Nt, C_l): each further text pass the extractor declares (e.g.
      ``masked_feats``, ``target_feats``), with ``<mask>`` (B, Nt), its attention mask,
      when that is not ``attention_mask``;
    - ``masked_token_mask`` (B, Nt) bool, True at the word pieces that ``masked_ids``
      removed, when a pass reads ``masked_ids``.

    Read entries with :func:`text_item` (or :meth:`require`) so that a missing one names
    the module that needs it.
    """

    def require(self, key: str, owner: str, why: str = '') -> Tensor:
        """``self[key]``, or a KeyError naming ``owner`` and what it needs the entry for."""
        return text_item(self, key, owner, why)


def text_item(text_feats: Mapping[str, Tensor], key: str, owner: str, why: str = '') -> Tensor:
    """One entry of the text features, with an error that says who needs it.

    Args:
        text_feats (Mapping[str, Tensor]): Text features, see :class:`TextFeats`.
        key (str): The entry.
        owner (str): The module reading it, for the message.
        why (str): What the entry is to the owner, for the message. Defaults to ''.

    Returns:
        Tensor: ``text_feats[key]``.
    """
    if key not in text_feats:
        what = f' ({why})' if why else ''
        raise KeyError(f'{owner} needs text_feats[{key!r}]{what}; the model gave only '
                       f'{sorted(text_feats)}')
    return text_feats[key]


def gather_text(items: Iterable[Optional[Mapping[str, Tensor]]], where: str) -> Dict[str, Tensor]:
    """Stacks the per-sample ``text`` fields that ``ReferringDataPreProcessor`` sets.

    Args:
        items (Iterable): The ``text`` element of each sample, in batch order.
        where (str): The caller, for the error message.

    Returns:
        dict[str, Tensor]: Every field stacked, each (B, Nt): ``input_ids``,
        ``attention_mask`` and what the preprocessor adds (``masked_ids``,
        ``masked_token_mask``, span masks).
    """
    items = list(items)
    if not items or any(t is None for t in items):
        raise ValueError(f'{where}: samples carry no tokenized text; use '
                         'ReferringDataPreProcessor as the model data_preprocessor')
    keys = list(items[0].keys())
    for key in (INPUT_IDS, ATTENTION_MASK):
        if key not in keys:
            raise ValueError(f'{where}: the samples\' text has no {key!r} (only {keys})')
    return {k: torch.stack([t.get(k) for t in items]) for k in keys}


def takes_text(module: Optional[nn.Module]) -> bool:
    """Whether a neck or head reads the text: its class sets ``takes_text = True``."""
    return getattr(module, 'takes_text', False)
