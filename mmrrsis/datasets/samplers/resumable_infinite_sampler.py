"""An infinite sampler that can restart part-way through its index stream."""
import itertools
from typing import Optional

from mmengine.dataset import InfiniteSampler

from mmrrsis.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` plus :meth:`resume`, to skip consumed indices cheaply.

    The index stream is the same as ``InfiniteSampler``'s (a new ``randperm`` of the dataset
    per pass, drawn from a generator seeded with ``seed``; rank r takes every world_size-th
    index from position r). :meth:`resume` restarts this rank's stream after the indices an
    interrupted run already consumed, without loading any sample, which
    :class:`~mmrrsis.engine.runner.ResumableIterBasedTrainLoop` uses when it resumes.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Whether to shuffle the indices. Defaults to True.
        seed (int, optional): Seed of the shuffle; None draws one shared by all ranks.
            Defaults to None.
    """

    def resume(self, num_consumed: int, seed: Optional[int] = None) -> None:
        """Makes the next iteration start after this rank's first ``num_consumed`` indices.

        Args:
            num_consumed (int): Indices of this rank already used (iterations x batch size).
            seed (int, optional): Replaces the shuffle seed first, e.g. with the seed the
                interrupted run used. Defaults to None (keep the current seed).
        """
        if num_consumed < 0:
            raise ValueError(f'num_consumed must be >= 0, got {num_consumed}')
        if seed is not None:
            self.seed = seed
        self.indices = itertools.islice(self._indices_of_rank(), num_consumed, None)
