"""A WordPiece vocabulary that covers every synthetic expression, for offline tokenizers."""
import os
import os.path as osp
from typing import Iterable

from tokenizers import BertWordPieceTokenizer

SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')


def build_vocab(expressions: Iterable[str], out_dir: str, vocab_size: int = 1000) -> str:
    """Trains a lower-case BERT WordPiece vocabulary on the given expressions.

    Offline tests and tiny configs use it in place of a downloaded ``bert-base-uncased``
    vocabulary, so every word of the synthetic expressions is a known token.

    The trainer breaks ties between equally frequent merges in hash-map order, which
    changes from one process to the next, so the intermediate pieces it keeps (``righ``
    or ``##ght``) vary between runs. Only its single characters and whole words are
    kept, in sorted order, which makes the file the same on every run.

    Args:
        expressions (Iterable[str]): Training text, one expression each.
        out_dir (str): Folder to write ``vocab.txt`` into (created when missing).
        vocab_size (int): Upper bound on the trained vocabulary; the written file is
            smaller. Defaults to 1000.

    Returns:
        str: Path of the written ``vocab.txt``: ``[PAD]`` (id 0), ``[UNK]``, ``[CLS]``,
        ``[SEP]``, ``[MASK]``, then characters, ``##`` characters and whole words.

    Raises:
        ValueError: When ``vocab_size`` is too small for every word to become a token.
    """
    texts = list(expressions)
    tokenizer = BertWordPieceTokenizer(lowercase=True)
    tokenizer.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=1, special_tokens=list(SPECIAL_TOKENS),
        show_progress=False)
    trained = set(tokenizer.get_vocab())
    pre_tokenize = tokenizer.pre_tokenizer.pre_tokenize_str
    words = {word for text in texts
             for word, _ in pre_tokenize(tokenizer.normalizer.normalize_str(text))}
    missing = sorted(words - trained)
    if missing:
        raise ValueError(f'vocab_size={vocab_size} is too small: {len(missing)} words of the '
                         f'expressions (e.g. {missing[:5]}) did not become whole tokens')
    chars = sorted(t for t in trained if len(t) == 1 and t not in words)
    suffixes = sorted(t for t in trained if t.startswith('##') and len(t) == 3)
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, 'vocab.txt')
    with open(path, 'w', encoding='utf-8') as f:
        tokens = list(SPECIAL_TOKENS) + chars + suffixes + sorted(words)
        f.writelines(token + '\n' for token in tokens)
    return path
