"""Horizontal/vertical flip that keeps the expression true to the flipped image."""
import re

from mmcv.transforms import RandomFlip

from mmrrsis.registry import TRANSFORMS

_SWAPS = {
    'horizontal': {'left': 'right', 'right': 'left', 'leftmost': 'rightmost',
                   'rightmost': 'leftmost', 'west': 'east', 'east': 'west',
                   'western': 'eastern', 'eastern': 'western'},
    'vertical': {'top': 'bottom', 'bottom': 'top', 'upper': 'lower', 'lower': 'upper',
                 'topmost': 'bottommost', 'bottommost': 'topmost', 'above': 'below',
                 'below': 'above', 'north': 'south', 'south': 'north',
                 'northern': 'southern', 'southern': 'northern'},
}
_SWAPS['diagonal'] = {**_SWAPS['horizontal'], **_SWAPS['vertical']}


def swap_direction_words(expression: str, direction: str) -> str:
    """Swaps the spatial words a flip in ``direction`` turns into their opposites.

    Args:
        expression (str): Referring expression.
        direction (str): 'horizontal', 'vertical' or 'diagonal'.

    Returns:
        str: The expression with e.g. "left" and "right" exchanged (case kept for the
        first letter).
    """
    table = _SWAPS[direction]

    def repl(match):
        word = match.group(0)
        new = table[word.lower()]
        return new.capitalize() if word[0].isupper() else new

    pattern = r'\b(' + '|'.join(sorted(table, key=len, reverse=True)) + r')\b'
    return re.sub(pattern, repl, expression, flags=re.IGNORECASE)


@TRANSFORMS.register_module()
class ReferringRandomFlip(RandomFlip):
    """mmcv's ``RandomFlip`` that also rewrites the expression ("left" <-> "right").

    A plain flip would make "the car on the left" point at the wrong object, silently
    teaching the model the opposite meaning. Arguments are those of
    :class:`mmcv.transforms.RandomFlip`.
    """

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        if results.get('expression') is not None:
            results['expression'] = swap_direction_words(results['expression'],
                                                         results['flip_direction'])
