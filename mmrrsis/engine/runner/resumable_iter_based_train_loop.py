"""An iteration-based training loop whose resumed runs continue exactly where they stopped."""
import logging
import random
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from mmrrsis.registry import LOOPS

RNG_STATE_KEY = 'rng_state'


def get_rng_state() -> dict:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restores generator states saved by :func:`get_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            print_log(f'the checkpoint holds the CUDA RNG states of {len(cuda)} devices, this '
                      f'machine has {torch.cuda.device_count()}; CUDA RNG states not restored',
                      logger='current', level=logging.WARNING)


@contextmanager
def preserved_rng_state() -> Iterator[None]:
    """Runs the block without changing any global generator's state."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` with bit-exact, fast resumption.

    mmengine 0.10.7 resumes an iteration-based run by loading and discarding the ``iter``
    batches already trained on: the data order is right, but every skipped image is read and
    transformed again, the random generators restart from the seed (so dropout and random
    augmentation differ from the uninterrupted run), and without a configured seed the sampler
    keeps the new run's seed although the runner switches to the checkpoint's. This loop:

    * stores the Python, NumPy and torch (CPU, CUDA) generator states in the message hub after
      every training step, so each checkpoint carries the state its iteration ended with, and
      restores them when it resumes, right before the first new batch is drawn;
    * skips the consumed samples by index when the train sampler has ``resume()``
      (:class:`~mmrrsis.datasets.ResumableInfiniteSampler`), with the checkpoint's seed, and
      otherwise replays them as mmengine does;
    * runs validation with the generator states saved and restored, so a validation between
      checkpoints, which a resumed run does not repeat, cannot shift the training's randomness.

    With a fixed seed, ``deterministic=True`` and ``num_workers=0`` (or a train pipeline
    without random transforms) the resumed run's weights equal the uninterrupted run's bit for
    bit. With worker processes, random transforms run in the workers, whose generators are not
    in the checkpoint: after an index skip they restart from their seeds. Replaying instead
    (plain ``InfiniteSampler``) keeps them exact, at the cost of reloading the skipped batches.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The train dataloader or its config.
        max_iters (int): Total training iterations.
        val_begin (int): Iteration from which validation runs. Defaults to 1.
        val_interval (int): Validation interval in iterations. Defaults to 1000.
        dynamic_intervals (list[tuple[int, int]], optional): (milestone, interval) pairs.
            Defaults to None.
    """

    def __init__(self, runner, dataloader, max_iters: int, val_begin: int = 1,
                 val_interval: int = 1000, dynamic_intervals: Optional[Sequence] = None) -> None:
        super().__init__(runner, dataloader, max_iters, val_begin, val_interval,
                         dynamic_intervals)
        # The sampler is seeded with the runner's seed now, before a resume may replace it.
        self._build_seed = runner.seed

    def run(self) -> torch.nn.Module:
        """Trains to ``max_iters``, continuing a resumed run exactly."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            self._skip_consumed_batches()
            self._restore_rng_state()
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                with preserved_rng_state():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: Sequence[dict]) -> None:
        """One training step; the generator states after it go into the message hub."""
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch, optim_wrapper=self.runner.optim_wrapper)
        self.runner.message_hub.update_info(RNG_STATE_KEY, get_rng_state(), resumed=True)
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1

    def _skip_consumed_batches(self) -> None:
        sampler = getattr(self.dataloader, 'sampler', None)
        batch_size = self.dataloader.batch_size
        if not hasattr(sampler, 'resume') or batch_size is None:
            print_log(f'replaying {self._iter} batches to skip the data already trained on '
                      f'(the sampler {type(sampler).__name__} cannot skip by index; use '
                      'ResumableInfiniteSampler to skip without loading)', logger='current',
                      level=logging.WARNING)
            for _ in range(self._iter):
                next(self.dataloader_iterator)
            return
        seed = None
        if getattr(sampler, 'seed', None) == self._build_seed != self.runner.seed:
            seed = self.runner.seed  # the interrupted run's seed, restored from the checkpoint
        sampler.resume(self._iter * batch_size, seed=seed)
        # A new iterator, so that worker processes do not serve batches prefetched from the
        # stream's start.
        self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        print_log(f'resumed the sampler after {self._iter} iterations x {batch_size} samples '
                  'per rank without loading them', logger='current')

    def _restore_rng_state(self) -> None:
        state = self.runner.message_hub.get_info(RNG_STATE_KEY)
        if state is None:
            print_log('the checkpoint holds no random generator states (not saved by '
                      'ResumableIterBasedTrainLoop); dropout and random transforms will not '
                      'repeat the interrupted run', logger='current', level=logging.WARNING)
            return
        set_rng_state(state)
