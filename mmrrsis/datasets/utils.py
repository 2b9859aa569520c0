"""Helpers shared by the referring datasets."""
import math
import os.path as osp
import re
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from pycocotools import mask as mask_utils

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
    Matches are whole words, case-insensitive, a trailing plural "s" allowed, any run of
    spaces between the words of a name (RISBench lines hold double spaces).

    Args:
        expression (str): The referring expression.
        lexicon (Mapping[str, str]): Alias (category names included) -> category name.

    Returns:
        str | None: The category of the earliest alias, or None when none occurs.
    """
    text = expression.lower()
    best = None  # (position, -alias length, category)
    for alias, category in lexicon.items():
        words = r'\s+'.join(re.escape(w) for w in alias.lower().split())
        found = re.search(r'\b' + words + r's?\b', text)
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


def _polygon_problem(polygon) -> Optional[str]:
    if not isinstance(polygon, (list, tuple)):
        return f'is a {type(polygon).__name__}, expected a flat [x1, y1, x2, y2, ...] list'
    if len(polygon) < 6 or len(polygon) % 2:
        # pycocotools would read 4 numbers as a box and fail inside a list on fewer
        return f'has {len(polygon)} numbers, expected an even count of at least 6 (3 points)'
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in polygon):
        return 'holds values that are not finite numbers'
    return None


def segmentation_rles(segmentation, height: Optional[int], width: Optional[int],
                      where: str) -> List[dict]:
    """A COCO ``segmentation`` as a list of compressed RLE dicts, their union the mask.

    Accepted: a list of RLE dicts (RRSIS-D), a bare RLE dict (uncompressed ``counts`` get
    compressed) and a list of flat polygons, several polygons meaning their union; polygons
    are rasterised at the image's ``height`` x ``width`` by pycocotools and merged into one RLE.

    Args:
        segmentation: The annotation's ``segmentation`` value.
        height (int, optional): Image height, needed for polygons.
        width (int, optional): Image width, needed for polygons.
        where (str): The annotation, named in errors (file, annotation and ref ids).

    Returns:
        list[dict]: RLE dicts with ``size`` [h, w] and ``counts`` as a string.

    Raises:
        ValueError: On an empty or malformed segmentation, naming ``where``.
    """
    if isinstance(segmentation, dict):
        segmentation = [segmentation]
    if not isinstance(segmentation, list) or not segmentation:
        raise ValueError(f'{where}: segmentation {segmentation!r} is empty or not a list of '
                         'polygons or RLE dicts')
    if all(isinstance(s, dict) for s in segmentation):
        rles = []
        for i, rle in enumerate(segmentation):
            size = rle.get('size')
            if ('counts' not in rle or not isinstance(size, (list, tuple)) or len(size) != 2):
                raise ValueError(f'{where}: RLE {i} is not a {{"size": [h, w], "counts"}} dict')
            if isinstance(rle['counts'], list):
                rle = mask_utils.frPyObjects(rle, *size)
            counts = rle['counts']
            rles.append(dict(size=[int(v) for v in size],
                             counts=counts.decode('ascii') if isinstance(counts, bytes)
                             else counts))
        return rles
    for i, polygon in enumerate(segmentation):
        problem = _polygon_problem(polygon)
        if problem:
            raise ValueError(f'{where}: polygon {i} {problem}')
    if not all(isinstance(v, int) and v > 0 for v in (height, width)):
        raise ValueError(f'{where}: polygons need the image height and width, got '
                         f'{height!r} x {width!r}')
    rle = mask_utils.merge(mask_utils.frPyObjects([list(map(float, p)) for p in segmentation],
                                                  height, width))
    return [dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))]
