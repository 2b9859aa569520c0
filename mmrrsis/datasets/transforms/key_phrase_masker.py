"""Finds the phrase that names the referred object (BTDNet paper, Sec. III-C, text masking)."""
import logging
import re
from typing import List, Optional, Sequence, Tuple

from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmrrsis.registry import TRANSFORMS
from ..refsegrs import REFSEGRS_CATEGORIES
from ..rrsisd import RRSISD_CATEGORIES

Span = Tuple[int, int]

# RRSIS-D's category names are written without spaces, its expressions with them.
SPLIT_CATEGORY_NAMES = ('storage tank', 'baseball field', 'basketball court', 'tennis court',
                        'ground track field', 'golf field', 'train station',
                        'expressway service area', 'expressway toll station', 'toll station')
DEFAULT_KEY_PHRASE_LEXICON = REFSEGRS_CATEGORIES + RRSISD_CATEGORIES + SPLIT_CATEGORY_NAMES

NP_GRAMMAR = 'NP: {<DT>?<JJ.*|VBN|VBG>*<NN.*>+}'
TAGGER_DATA = 'averaged_perceptron_tagger_eng'
MISSING_TAGGER_HINT = (
    f"NLTK's POS tagger data '{TAGGER_DATA}' is not installed, so KeyPhraseMasker("
    "backend='nltk') cannot tag expressions. Install it with\n"
    f'    python -m nltk.downloader {TAGGER_DATA}\n'
    'or point the NLTK_DATA environment variable at a folder holding '
    f'taggers/{TAGGER_DATA}/, or use the offline KeyPhraseMasker(backend=\'lexicon\').')


def _category_pattern(name: str) -> str:
    """Regex for a category name: any space/hyphen between its words, plural allowed."""
    words = [w for w in re.split(r'[\s_\-]+', name.lower()) if w]
    plural = '(?:es)?' if words[-1].endswith(('s', 'x', 'z', 'ch', 'sh')) else 's?'
    return r'[\s\-]*'.join(map(re.escape, words)) + plural


@TRANSFORMS.register_module()
class KeyPhraseMasker(BaseTransform):
    """Marks the phrase of the expression that names the referred object.

    Sets ``results['key_phrase_spans']``: (start, end) character spans in
    ``results['expression']`` as it is when this transform runs (so put it after transforms
    that rewrite the expression, such as ``ReferringRandomFlip``). ``ReferringDataPreProcessor``
    replaces the word pieces overlapping these spans with [PAD] to build ``masked_ids``, the
    "category-agnostic" text of BTDNet's background prior (T-BTD) and reconstruction (D-MOLS).

    What is masked is the object's *name*: the nouns, not the determiner, adjectives or the
    rest of the sentence, so the masked text keeps the attributes and the context
    ("the white ___ left of the harbor"), i.e. what describes the background and the
    relations, and loses only what the target is.

    Backends:

    * ``'nltk'`` (default, the paper's tool): Treebank tokenization, ``nltk.pos_tag`` and the
      chunk grammar ``NP: {<DT>?<JJ.*|VBN|VBG>*<NN.*>+}``. The referent is the first noun phrase
      that mentions a lexicon category (a category mention the tagger missed, e.g. "bikeway"
      tagged RB, counts as its own phrase); with no category mentioned, the first noun phrase.
      Masked: the category mentions in that phrase, else its noun run.
      "the white storage tank left of the harbor" -> "storage tank";
      "low vegetation near the building" -> "low vegetation" (the category's full name);
      "the gray bridge" -> "bridge". ``categories=()`` gives pure NLTK: the first noun
      phrase's noun run.
    * ``'lexicon'`` (offline, no tagger data): the earliest category mention, taking the
      longest name at that position ("road marking", not "road"), plurals included.

    When nothing is found (no noun phrase, no category) the spans are ``[]`` and
    ``masked_ids`` equals ``input_ids`` for that sample: counted in :attr:`num_unmasked` (out
    of :attr:`num_seen`, per worker process) and logged once, never silently.

    Args:
        backend (str): 'nltk' or 'lexicon'. Defaults to 'nltk'.
        categories (Sequence[str], optional): Category names (RRSIS-D's "storagetank" style
            and "storage-tank" also match "storage tank"). Defaults to
            ``DEFAULT_KEY_PHRASE_LEXICON``: RefSegRS's 14 and RRSIS-D's 20 names plus the
            spaced forms of RRSIS-D's compound names.
    """

    def __init__(self, backend: str = 'nltk', categories: Optional[Sequence[str]] = None):
        super().__init__()
        if backend not in ('nltk', 'lexicon'):
            raise ValueError(f"KeyPhraseMasker backend '{backend}' is unknown; "
                             "choose 'nltk' or 'lexicon'")
        self.backend = backend
        names = DEFAULT_KEY_PHRASE_LEXICON if categories is None else tuple(categories)
        if backend == 'lexicon' and not names:
            raise ValueError("KeyPhraseMasker(backend='lexicon') needs category names")
        self.categories = names
        patterns = sorted({_category_pattern(n) for n in names}, key=len, reverse=True)
        self._lexicon = re.compile(r'\b(?:' + '|'.join(patterns) + r')\b',
                                   re.IGNORECASE) if patterns else None
        if backend == 'nltk':
            import nltk
            from nltk.tokenize import TreebankWordTokenizer
            try:
                nltk.data.find(f'taggers/{TAGGER_DATA}/')
            except LookupError:
                raise LookupError(MISSING_TAGGER_HINT) from None
            self._tokenizer = TreebankWordTokenizer()
            self._chunker = nltk.RegexpParser(NP_GRAMMAR)
        self.num_seen = 0
        self.num_unmasked = 0

    def mentions(self, expression: str) -> List[Span]:
        """Category mentions, left to right, the longest name at each position."""
        if self._lexicon is None:
            return []
        return [m.span() for m in self._lexicon.finditer(expression)]

    def noun_phrases(self, expression: str) -> List[Span]:
        """Character span of the noun run of every NLTK noun phrase, left to right."""
        from nltk import pos_tag
        spans = list(self._tokenizer.span_tokenize(expression))
        tokens = [expression[start:end] for start, end in spans]
        try:
            tags = pos_tag(tokens, lang='eng')
        except LookupError:
            raise LookupError(MISSING_TAGGER_HINT) from None
        # token indices stand in for the words, so the chunks map back to character spans
        tree = self._chunker.parse([(i, tag) for i, (_, tag) in enumerate(tags)])
        runs = []
        for chunk in tree.subtrees(lambda t: t.label() == 'NP'):
            nouns = [i for i, tag in chunk.leaves() if tag.startswith('NN')]
            runs.append((spans[nouns[0]][0], spans[nouns[-1]][1]))
        return runs

    def find(self, expression: str) -> List[Span]:
        """Key phrase spans of one expression (empty when none is found)."""
        mentions = self.mentions(expression)
        if self.backend == 'lexicon':
            return mentions[:1]

        def overlapping(span: Span, others: List[Span]) -> List[Span]:
            return [o for o in others if o[0] < span[1] and span[0] < o[1]]

        phrases = self.noun_phrases(expression)
        lone = [m for m in mentions if not overlapping(m, phrases)]
        for phrase in sorted(phrases + lone):
            named = overlapping(phrase, mentions)
            if named:
                return named
        return phrases[:1]

    def transform(self, results: dict) -> dict:
        """Sets ``results['key_phrase_spans']`` from ``results['expression']``."""
        expression = results.get('expression')
        if expression is None:
            raise ValueError(f'KeyPhraseMasker: sample {results.get("img_path")} has no '
                           '"expression"; load the annotations first')
        spans = self.find(str(expression))
        self.num_seen += 1
        if not spans:
            self.num_unmasked += 1
            if self.num_unmasked == 1:
                print_log(
                    f'KeyPhraseMasker({self.backend!r}) found no key phrase in "{expression}"; '
                    'its masked text equals the text. Further misses are only counted '
                    '(KeyPhraseMasker.num_unmasked).', logger='current', level=logging.WARNING)
        results['key_phrase_spans'] = spans
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backend={self.backend!r}, '
                f'categories={len(self.categories)} names)')
