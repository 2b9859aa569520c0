"""Checkpoint loading for a Runner that refuses a checkpoint which does not fit the model."""
import re
from collections import OrderedDict
from typing import List, Sequence, Tuple

from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

SHOWN_KEYS = 20
ALLOW_PARTIAL_FLAG = '--allow-partial'


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose keys or shapes differ from the model's state dict."""


def _listing(kind: str, keys: Sequence[str]) -> str:
    shown = ', '.join(keys[:SHOWN_KEYS])
    more = f', ... ({len(keys) - SHOWN_KEYS} more)' if len(keys) > SHOWN_KEYS else ''
    return f'{kind} keys ({len(keys)}): {shown}{more}'


def load_checkpoint_strictly(runner: Runner,
                             filename: str,
                             map_location: str = 'cpu',
                             revise_keys: List[Tuple[str, str]] = [(r'^module\.', '')]) -> dict:
    """``Runner.load_checkpoint`` that raises instead of warning when the checkpoint misfits.

    mmengine's loader (``strict=False``) copies what fits and only logs the rest, which leaves a
    model part random. This one loads the same way (``after_load_checkpoint`` hooks, key
    revision, every ``_load_from_state_dict`` shim for former layouts) and then raises a
    :class:`CheckpointMismatchError` naming the file and the first missing and unexpected keys.
    As in mmengine, a missing BatchNorm ``num_batches_tracked`` is not a misfit. Every rank raises,
    so a distributed run stops instead of waiting for a failed rank.

    Args:
        runner (Runner): The runner whose model receives the weights.
        filename (str): Checkpoint path or URL, as for ``Runner.load_checkpoint``.
        map_location (str): Where the tensors are loaded. Defaults to 'cpu'.
        revise_keys (list[tuple[str, str]]): (pattern, replacement) rewrites of the checkpoint's
            keys. Defaults to stripping a DDP ``module.`` prefix.

    Returns:
        dict: The loaded checkpoint.
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if isinstance(model, BaseTTAModel):
        model = model.module

    state_dict = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, replacement, key), value) for key, value in state_dict.items())
    state_dict._metadata = metadata

    advice = (f'Use a config that builds the model this checkpoint was saved from, or pass '
              f'{ALLOW_PARTIAL_FLAG} to load what fits and keep the rest at its initial weights.')
    try:
        missing, unexpected = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # PyTorch raises shape mismatches even when not strict
        raise CheckpointMismatchError(
            f'Checkpoint {filename} does not fit the model built from the config: {error}\n'
            f'{advice}') from error
    missing = [key for key in missing if not key.endswith('num_batches_tracked')]
    if missing or unexpected:
        found = [_listing(kind, keys)
                 for kind, keys in (('missing', missing), ('unexpected', unexpected)) if keys]
        raise CheckpointMismatchError(
            f'Checkpoint {filename} does not fit the model built from the config; '
            + '; '.join(found) + f'.\n{advice}')
    runner._has_loaded = True
    runner.logger.info(f'Load checkpoint from {filename}')
    return checkpoint
