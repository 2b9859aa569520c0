from .resumable_iter_based_train_loop import (ResumableIterBasedTrainLoop, get_rng_state,
                                              preserved_rng_state, set_rng_state)
from .strict_loading import CheckpointMismatchError, load_checkpoint_strictly

__all__ = [
    'CheckpointMismatchError', 'ResumableIterBasedTrainLoop', 'get_rng_state',
    'load_checkpoint_strictly', 'preserved_rng_state', 'set_rng_state'
]
