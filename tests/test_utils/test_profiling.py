"""The benchmark scripts' memory and time measurements."""
import torch

from mmrrsis.utils.profiling import peak_extra_bytes, timed


def test_peak_counts_temporaries_freed_inside_the_step():
    kept = []

    def step():
        tmp = torch.ones(1024, 1024)  # 4 MiB, freed when the step returns
        # 1 MiB of zeros (a temporary) + the 1 MiB sum, kept; tmp[:256] is a view
        kept.append(torch.zeros(256, 1024) + tmp[:256])

    assert peak_extra_bytes(step, 'cpu') == 6 * 2**20


def test_memory_alive_before_the_step_is_not_counted():
    big = torch.ones(2048, 2048)  # noqa: F841  16 MiB allocated before
    assert peak_extra_bytes(lambda: torch.ones(256, 1024), 'cpu') < 2 * 2**20


def test_timed_returns_wall_and_cpu_seconds():
    wall, cpu = timed(lambda: sum(range(100000)), 'cpu')
    assert wall > 0 and cpu >= 0
