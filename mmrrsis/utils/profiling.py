"""Time and peak-memory measurement shared by the benchmark scripts in ``tools/analysis/``."""
import time
from typing import Callable, Tuple

import torch
from torch.profiler import ProfilerActivity, profile


def peak_extra_bytes(step: Callable[[], None], device: str) -> int:
    """Peak bytes allocated while ``step`` runs, beyond those live before it.

    Everything ``step`` allocates counts (activations kept for backward, temporaries, op
    workspaces, gradients), whether it is freed before the end or not.

    * CUDA: ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``, minus
      the allocation before the call.
    * CPU: the running sum of the ``[memory]`` events of ``torch.profiler`` with
      ``profile_memory=True``, in time order. c10's CPU allocator reports every allocation
      and free to the profiler, op-internal workspaces included, which an allocation tracker
      at the Python level would not see; RSS is blurred by the allocator's caching.
    """
    if device == 'cuda':
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def timed(step: Callable[[], None], device: str) -> Tuple[float, float]:
    """Wall and process CPU seconds (all threads) of one ``step``."""
    if device == 'cuda':
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu
