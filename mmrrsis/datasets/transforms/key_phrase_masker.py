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

# span='noun': determiner and adjectives only delimit the chunk; its noun run is masked.
NP_GRAMMAR = 'NP: {<DT>?<JJ.*|VBN|VBG>*<NN.*>+}'
# span='phrase': the whole chunk is masked, so it also takes numbers ("two cars"), nouns used
# as modifiers ("dark" in "the dark green trees" is tagged NN), predeterminers ("all the"),
# possessives and coordinated adjectives ("the long, narrow bridge", "red and white").
PHRASE_GRAMMAR = r'NP: {<PDT>?<DT|PRP\$>?(<JJ.*><,|CC>|<CD|JJ.*|VBN|VBG|NN.*>)*<NN.*>}'
SPANS = ('phrase', 'noun')
# Lexicon backend, span='phrase': words that end the leftward growth of a category mention
# (prepositions, conjunctions, copulas, relative words: what links the phrase to the rest of
# the sentence) and words that end it after being taken in (determiners open a phrase).
PHRASE_STOP_WORDS = frozenset(
    'of near next to on in at from by with beside besides behind between among around above '
    'below under beneath underneath over along across beyond inside outside into onto toward '
    'towards against within than and or but nor is are was were be being been which who whom '
    'whose where there here as for while if when'.split())
PHRASE_OPENERS = frozenset(
    'the a an this that these those its their his her our my your each every another'.split())
_WORD = re.compile(r"\w+(?:[-'\u2019]\w+)*|\S")
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

    BTDNet Sec. III-C masks the key object phrase to get category-agnostic text for the
    background prior (T-BTD) and D-MOLS. This transform sets ``results['key_phrase_spans']``,
    (start, end) character spans in ``results['expression']`` as it is when it runs (so place
    it after transforms that rewrite the expression); ``ReferringDataPreProcessor`` replaces
    the word pieces overlapping them with [PAD] to build ``masked_ids``.

    ``span='phrase'`` masks the referent's noun phrase ("a gray vehicle parked next to the
    white building" -> "a gray vehicle"), ``'noun'`` only its name ("vehicle"). The ``'nltk'``
    backend chunks POS tags (``PHRASE_GRAMMAR``, ``NP_GRAMMAR``) and prefers a phrase that
    names a lexicon category; ``'lexicon'`` needs no tagger data and grows the earliest
    category mention leftwards up to a determiner or a linking word (``PHRASE_OPENERS``,
    ``PHRASE_STOP_WORDS``). When nothing is found the spans are ``[]``, counted in
    :attr:`num_unmasked` (of :attr:`num_seen`) and logged once. The rules and their examples
    are in configs/btdnet/README.md.

    Args:
        backend (str): 'nltk' or 'lexicon'. Defaults to 'nltk'.
        categories (Sequence[str], optional): Category names (RRSIS-D's "storagetank" style
            and "storage-tank" also match "storage tank"). Defaults to
            ``DEFAULT_KEY_PHRASE_LEXICON``: RefSegRS's 14 and RRSIS-D's 20 names plus the
            spaced forms of RRSIS-D's compound names.
        span (str): 'phrase' (the key noun phrase) or 'noun' (its name only).
            Defaults to 'phrase'.
    """

    def __init__(self, backend: str = 'nltk', categories: Optional[Sequence[str]] = None,
                 span: str = 'phrase'):
        super().__init__()
        if backend not in ('nltk', 'lexicon'):
            raise ValueError(f"KeyPhraseMasker backend '{backend}' is unknown; "
                             "choose 'nltk' or 'lexicon'")
        if span not in SPANS:
            raise ValueError(f"KeyPhraseMasker span '{span}' is unknown; choose 'phrase' (the "
                             "key noun phrase) or 'noun' (the object's name only)")
        self.backend = backend
        self.span = span
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
            self._chunker = nltk.RegexpParser(PHRASE_GRAMMAR if span == 'phrase' else NP_GRAMMAR)
        self.num_seen = 0
        self.num_unmasked = 0

    def mentions(self, expression: str) -> List[Span]:
        """Category mentions, left to right, the longest name at each position."""
        if self._lexicon is None:
            return []
        return [m.span() for m in self._lexicon.finditer(expression)]

    def noun_phrases(self, expression: str) -> List[Span]:
        """Character span of every NLTK noun phrase, left to right.

        With ``span='phrase'`` the whole chunk, with ``'noun'`` its noun run.
        """
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
            words = [i for i, tag in chunk.leaves()
                     if self.span == 'phrase' or tag.startswith('NN')]
            runs.append((spans[words[0]][0], spans[words[-1]][1]))
        return runs

    @staticmethod
    def grow_left(expression: str, span: Span) -> Span:
        """``span`` grown leftwards over the words that modify it (the lexicon backend's rule).

        Stops before punctuation or a word of ``PHRASE_STOP_WORDS``, after a word of
        ``PHRASE_OPENERS``, or at the start of the expression; a span that already opens
        with a determiner is kept.
        """
        first = _WORD.match(expression, span[0])
        if first is not None and first.group().lower() in PHRASE_OPENERS:
            return span
        start = span[0]
        for word in reversed(list(_WORD.finditer(expression, 0, span[0]))):
            text = word.group().lower()
            if not text[0].isalnum() or text in PHRASE_STOP_WORDS:
                break
            start = word.start()
            if text in PHRASE_OPENERS:
                break
        return start, span[1]

    def find(self, expression: str) -> List[Span]:
        """Key phrase spans of one expression (empty when none is found)."""
        mentions = self.mentions(expression)
        phrase = self.span == 'phrase'
        if self.backend == 'lexicon':
            if not phrase or not mentions:
                return mentions[:1]
            start, end = self.grow_left(expression, mentions[0])
            # a name right after the first is part of it ("truck trailer")
            for m_start, m_end in mentions[1:]:
                if expression[end:m_start].strip(' -'):
                    break
                end = m_end
            return [(start, end)]

        def overlapping(span: Span, others: List[Span]) -> List[Span]:
            return [o for o in others if o[0] < span[1] and span[0] < o[1]]

        chunks = self.noun_phrases(expression)
        lone = [m for m in mentions if not overlapping(m, chunks)]
        for chunk in sorted(chunks + lone):
            named = overlapping(chunk, mentions)
            if not named:
                continue
            if not phrase:
                return named
            # the tagger errs most on the words before a name ("yellow" in "yellow low
            # vegetation" is tagged RB, "bikeway" RB), so those are taken by the word rule
            widened = (min(chunk[0], named[0][0]), max(chunk[1], named[-1][1]))
            return [self.grow_left(expression, widened)]
        return chunks[:1]

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
        return (f'{self.__class__.__name__}(backend={self.backend!r}, span={self.span!r}, '
                f'categories={len(self.categories)} names)')
