"""Helpers shared by the referring datasets."""
import os.path as osp
import re
from typing import Iterable, Mapping, Optional, Sequence, Tuple

MAX_LISTED_MISSING = 20


def category_from_expression(expression: str, names: Sequence[str]) -> Optional[str]:
    """Finds the category an expression talks about by name.

    RefSegRS has no category field, so its per-category table uses the longest category
    name that occurs in the expression as a whole word (a trailing plural "s" allowed).

    Args:
        expression (str): The referring expression.
        names (Sequence[str]): Candidate category names.

    Returns:
        str | None: The longest matching name, or None when no name occurs.
    """
    text = expression.lower()
    found = [
        name for name in names
        if re.search(r'\b' + re.escape(name.lower()) + r's?\b', text)
    ]
    return max(found, key=len) if found else None


def category_by_first_match(expression: str,
                            lexicon: Mapping[str, str]) -> Optional[str]:
    """Finds the category an expression refers to by the name or alias it mentions first.

    RISBench expressions often name a second object after the referent ("the ship docked at
    the harbor"), so the earliest mention wins; at the same position the longest alias wins.
    Matches are whole words, case-insensitive, a trailing plural "s" allowed.

    Args:
        expression (str): The referring expression.
        lexicon (Mapping[str, str]): Alias (category names included) -> category name.

    Returns:
        str | None: The category of the earliest alias, or None when none occurs.
    """
    text = expression.lower()
    best = None  # (position, -alias length, category)
    for alias, category in lexicon.items():
        found = re.search(r'\b' + re.escape(alias.lower()) + r's?\b', text)
        if found:
            key = (found.start(), -len(alias), category)
            best = key if best is None or key[:2] < best[:2] else best
    return best[2] if best else None


def check_files_exist(paths: Iterable[str], what: str, source: str) -> None:
    """Raises ONE error that lists every missing file, so a bad download is found at once.

    Args:
        paths (Iterable[str]): Files the annotations refer to.
        what (str): What the files are, for the message (e.g. 'RefSegRS image').
        source (str): The annotation file that lists them.

    Raises:
        FileNotFoundError: When any file is missing; names the first 20 and the count.
    """
    missing = sorted({p for p in paths if not osp.isfile(p)})
    if not missing:
        return
    listed = '\n  '.join(missing[:MAX_LISTED_MISSING])
    more = len(missing) - MAX_LISTED_MISSING
    tail = f'\n  ... and {more} more' if more > 0 else ''
    raise FileNotFoundError(
        f'{len(missing)} {what} file(s) listed in {source} are missing:\n  {listed}{tail}\n'
        'Check the download, or run tools/dataset_converters/check_dataset.py for a full report.')


def check_listed_files_exist(entries: Iterable[Tuple[str, str]], what: str) -> None:
    """Like :func:`check_files_exist`, but names where each missing file is listed.

    Args:
        entries (Iterable[tuple[str, str]]): (file, where it is listed, e.g. "x.txt, line 3").
        what (str): What the files are, for the message (e.g. 'RISBench image or mask').

    Raises:
        FileNotFoundError: When any file is missing; names the first 20 and the count.
    """
    missing = {}
    for path, where in entries:
        if path not in missing and not osp.isfile(path):
            missing[path] = where
    if not missing:
        return
    listed = '\n  '.join(f'{path} ({where})'
                         for path, where in list(missing.items())[:MAX_LISTED_MISSING])
    more = len(missing) - MAX_LISTED_MISSING
    tail = f'\n  ... and {more} more' if more > 0 else ''
    raise FileNotFoundError(
        f'{len(missing)} {what} file(s) are missing:\n  {listed}{tail}\n'
        'Check the download, or run tools/dataset_converters/check_dataset.py for a full report.')


def check_not_empty(data_list: list, what: str, source: str) -> None:
    """Refuses a split without samples (an infinite sampler would spin on it forever)."""
    if not data_list:
        raise ValueError(f'{what}: {source} lists no sample for this split')


def check_split(split: str, dataset: str, allowed=('train', 'val', 'test')) -> None:
    """Rejects unknown split names with the allowed ones in the message."""
    if split not in allowed:
        raise ValueError(f'{dataset}: unknown split "{split}"; choose one of {allowed}')


def check_data_root(data_root: Optional[str], dataset: str) -> None:
    """Fails early and clearly when the configured data root is absent."""
    if data_root is None or not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{dataset}: data_root "{data_root}" does not exist. Set `data_root` in the dataset '
            'config to the folder that holds the dataset (see README "Datasets").')
