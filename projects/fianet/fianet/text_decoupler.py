"""FIANet's text decoupling: the ground-object and spatial-position parts of an expression
(FIANet, Lei et al. TGRS 2025, as its published code computes it)."""
import logging
import re
from typing import List, Sequence, Tuple, Union

from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmrrsis.datasets import REFSEGRS_CATEGORIES, RISBENCH_CATEGORIES, RRSISD_CATEGORIES
from mmrrsis.datasets.transforms.key_phrase_masker import SPLIT_CATEGORY_NAMES, TAGGER_DATA
from mmrrsis.registry import TRANSFORMS

Span = Tuple[int, int]

# A preposition, an optional determiner, then a noun (NN only) or an adjective, possibly led by
# another adjective, or an adjective followed by a past-tense verb ("on the left", "at the top",
# "in the upper-left corner"): the three chunk rules of the published code, tried in order.
POSITION_GRAMMAR = r"""
PP: {<IN><DT>?<JJ.*>?<NN>}
    {<IN><DT>?<JJ.*>?<JJ>}
    {<IN><DT>?<JJ.*><VBD>}
"""
MISSING_TAGGER_HINT = (
    f"NLTK's POS tagger data '{TAGGER_DATA}' is not installed, so FIANetTextDecoupler cannot "
    'find the spatial-position phrases. Install it with\n'
    f'    python -m nltk.downloader {TAGGER_DATA}\n'
    'or point the NLTK_DATA environment variable at a folder holding '
    f'taggers/{TAGGER_DATA}/.')


def spaced_category_names(names: Sequence[str]) -> Tuple[str, ...]:
    """Category names as expressions write them: lower case, words split by spaces.

    RRSIS-D's "Expressway-toll-station" becomes "expressway toll station" and "storagetank"
    (a name of ``SPLIT_CATEGORY_NAMES`` written without its spaces) "storage tank"; the other
    names are kept.

    Args:
        names (Sequence[str]): Dataset category names.

    Returns:
        tuple[str]: The names with spaces, in the same order.
    """
    joined = {name.replace(' ', ''): name for name in SPLIT_CATEGORY_NAMES}
    spaced = []
    for name in names:
        words = name.replace('-', ' ').lower()
        spaced.append(joined.get(words, words))
    return tuple(spaced)


LEXICONS = dict(
    refsegrs=tuple(REFSEGRS_CATEGORIES), rrsisd=spaced_category_names(RRSISD_CATEGORIES),
    risbench=tuple(RISBENCH_CATEGORIES))


@TRANSFORMS.register_module()
class FIANetTextDecoupler(BaseTransform):
    """Splits a referring expression into its ground-object and spatial-position parts.

    Sets two lists of (start, end) character spans of ``results['expression']``; the data
    preprocessor (``ReferringDataPreProcessor(span_masks=...)``) turns them into the (B, Nt)
    token masks m_o and m_p over the same tokenized expression, under which BERT encodes
    the expression again for FIAM's object and position branches. On NLTK Treebank words,
    as the published code does: ``object_spans`` are the words of every category name found
    in the expression ("the vehicle on the left of the road" -> "vehicle", "road");
    ``position_spans`` are the chunks of ``POSITION_GRAMMAR`` without "of" ("a white car
    parked on the right side of the road" -> "on the right side").

    Either list may be ``[]``; such samples are counted in :attr:`num_without_object` and
    :attr:`num_without_position` (of :attr:`num_seen`) and the first of each kind is logged.
    The matching rules in detail are in the project README, "Implementation notes".

    Args:
        categories (str | Sequence[str]): ``'refsegrs'`` (its 14 names), ``'rrsisd'`` (its 20
            names written with spaces, see :func:`spaced_category_names`), ``'risbench'``
            (its 26 names) or the names themselves.
    """

    def __init__(self, categories: Union[str, Sequence[str]]):
        super().__init__()
        if isinstance(categories, str):
            if categories not in LEXICONS:
                raise ValueError(f'FIANetTextDecoupler: categories {categories!r} is not one of '
                                 f'{sorted(LEXICONS)}; give the dataset or the names')
            categories = LEXICONS[categories]
        self.categories = tuple(categories)
        if not self.categories:
            raise ValueError('FIANetTextDecoupler needs at least one category name')
        self._names = [(re.compile(re.escape(name)), name.split()) for name in self.categories]
        import nltk
        from nltk.tokenize import TreebankWordTokenizer
        try:
            nltk.data.find(f'taggers/{TAGGER_DATA}/')
        except LookupError:
            raise LookupError(MISSING_TAGGER_HINT) from None
        self._tokenizer = TreebankWordTokenizer()
        self._chunker = nltk.RegexpParser(POSITION_GRAMMAR)
        self.num_seen = 0
        self.num_without_object = 0
        self.num_without_position = 0

    @staticmethod
    def _words_span(spans: List[Span], first: int, count: int) -> Span:
        last = min(first + count, len(spans)) - 1
        return spans[first][0], spans[last][1]

    def object_spans(self, expression: str, spans: List[Span]) -> List[Span]:
        """Ground-object spans of an expression.

        Args:
            expression (str): The expression.
            spans (list[tuple]): Character spans of its Treebank words.

        Returns:
            list[tuple]: Sorted distinct (start, end) spans, one per category mentioned.
        """
        words = [expression[start:end] for start, end in spans]
        found = set()
        for pattern, name_words in self._names:
            if not words or pattern.search(expression) is None:
                continue
            first = next((i for i, word in enumerate(words) if name_words[0] in word), 0)
            found.add(self._words_span(spans, first, len(name_words)))
        return sorted(found)

    def position_spans(self, expression: str, spans: List[Span]) -> List[Span]:
        """Spatial-position spans of an expression.

        Args:
            expression (str): The expression.
            spans (list[tuple]): Character spans of its Treebank words.

        Returns:
            list[tuple]: Sorted distinct (start, end) spans of the kept chunks.
        """
        from nltk import pos_tag
        words = [expression[start:end] for start, end in spans]
        if not words:
            return []
        try:
            tags = pos_tag(words, lang='eng')
        except LookupError:
            raise LookupError(MISSING_TAGGER_HINT) from None
        # word indices stand in for the words, so each chunk maps back to its words
        tree = self._chunker.parse([(i, tag) for i, (_, tag) in enumerate(tags)])
        found = set()
        for chunk in tree.subtrees(lambda t: t.label() == 'PP'):
            chunk_words = [words[i] for i, _ in chunk.leaves()]
            if 'of' in ' '.join(chunk_words):
                continue
            first = words.index(chunk_words[0])
            found.add(self._words_span(spans, first, len(chunk_words)))
        return sorted(found)

    def decouple(self, expression: str) -> Tuple[List[Span], List[Span]]:
        """Returns the (object spans, position spans) of one expression."""
        spans = list(self._tokenizer.span_tokenize(expression))
        return self.object_spans(expression, spans), self.position_spans(expression, spans)

    def transform(self, results: dict) -> dict:
        """Sets ``results['object_spans']`` and ``results['position_spans']``."""
        expression = results.get('expression')
        if expression is None:
            raise ValueError(f'FIANetTextDecoupler: sample {results.get("img_path")} has no '
                             '"expression"; load the annotations first')
        expression = str(expression)
        objects, positions = self.decouple(expression)
        self.num_seen += 1
        if not objects:
            self.num_without_object += 1
            if self.num_without_object == 1:
                print_log(
                    f'FIANetTextDecoupler found no category name in "{expression}": its '
                    'object mask is empty and FIAM\'s object branch gives 0 for it. Further '
                    'such samples are only counted (FIANetTextDecoupler.num_without_object).',
                    logger='current', level=logging.WARNING)
        if not positions:
            self.num_without_position += 1
            if self.num_without_position == 1:
                print_log(
                    f'FIANetTextDecoupler found no spatial-position phrase in "{expression}": '
                    'its position spans are empty (the FIANet preprocessor then uses the '
                    'attention mask as its position mask). Further such samples are only '
                    'counted (FIANetTextDecoupler.num_without_position).',
                    logger='current', level=logging.WARNING)
        results['object_spans'] = objects
        results['position_spans'] = positions
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(categories={len(self.categories)} names)'
