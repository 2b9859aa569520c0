from .resumable_iter_based_train_loop import (ResumableIterBasedTrainLoop, get_rng_state,
                                              preserved_rng_state, set_rng_state)

__all__ = ['ResumableIterBasedTrainLoop', 'get_rng_state', 'set_rng_state', 'preserved_rng_state']
