"""Peak memory and time of BSC against window (1,) alone and against a literal unfold.

Three variants run forward + backward on the same inputs (default: BTDNet's stage 1 with
batch 2, 128x128, C=128, 20 tokens, D=256):

* ``bsc (1,)``: :class:`mmrrsis.models.fusions.BSC` with one 1x1 window;
* ``bsc (1,3,5)``: BSC as configured for BTDNet;
* ``unfold (1,3,5)``: the paper's literal description, the same module with its affinity
  computed from ``F.unfold`` patches (r² x C per pixel) and token windows, each mapped to D
  by a linear layer -- the reference BSC must equal (max difference printed, 1e-5 in float32).

Peak extra memory is the largest amount of memory allocated by the call beyond what existed
before it: inputs and parameters are excluded, activations saved for backward, temporaries,
op workspaces and the gradients of inputs and parameters (set to None beforehand, as
``zero_grad`` does) are counted, from the first forward op to the end of backward.

* CUDA: ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``, minus the
  allocation before the call.
* CPU: the running sum of the ``[memory]`` events of ``torch.profiler`` with
  ``profile_memory=True``, in time order. c10's CPU allocator reports every allocation and
  free to the profiler, op-internal workspaces included (e.g. the im2col columns a CPU
  convolution builds in its backward), which an allocation tracker at the Python or
  ``TorchDispatchMode`` level would not see; ``tracemalloc`` and RSS are blind to, or blurred
  by, torch's allocator and the other threads of the process.

Time is the median of ``--repeats`` forward + backward passes per variant (wall and process
CPU time), the variants interleaved in one process, without the profiler (it adds overhead).
On a shared machine read the ratios rather than the absolute times (the load average is
printed), and prefer ``--threads 1``: threads of one op wait on each other whenever one is
preempted. The CPU peaks differ slightly between one and several threads (oneDNN
convolutions, with their own workspaces, replace the native ones when torch has more than
one thread).

Example::

    python tools/analysis/benchmark_bsc.py --device cpu --threads 1
"""
import argparse
import os
import os.path as osp
import statistics
import sys
from typing import Callable, Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402

from mmrrsis.models.fusions import BSC  # noqa: E402
from mmrrsis.utils.profiling import peak_extra_bytes, timed  # noqa: E402


class UnfoldBSC(BSC):
    """BSC whose affinities follow the paper's text literally: unfold, then linear maps.

    Every pixel's r x r patch is materialised (``F.unfold``, r² C values per pixel) and
    mapped to D; every token's r-token window is gathered and mapped to D; their products are
    the per-window affinities, which :meth:`BSC.affinity` weights with each direction's
    window weights. Same parameters and outputs as :class:`BSC`.
    """

    def window_affinities(self, vis: Tensor, text: Tensor) -> List[Tensor]:
        num_tokens = text.shape[1]
        pieces = []
        for k, r in enumerate(self.window_sizes):
            conv = self.vis_windows[k]
            patches = F.unfold(vis, r, padding=r // 2).transpose(1, 2)  # (B, hw, C r r)
            phi = F.linear(patches, conv.weight.flatten(1), conv.bias)  # (B, hw, D)
            padded = F.pad(text, (0, 0, r // 2, r // 2))
            # (B, Nt, C_l, r): token j's window, laid out like the Conv1d weight
            windows = torch.stack([padded[:, j:j + num_tokens] for j in range(r)], -1)
            conv1d = self.text_windows[k]
            psi = F.linear(windows.flatten(2), conv1d.weight.flatten(1), conv1d.bias)
            pieces.append(phi @ psi.transpose(1, 2))
        return pieces


def parse_args():
    parser = argparse.ArgumentParser(description='BSC peak memory and time')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=128, help='feature map side h = w')
    parser.add_argument('--channels', type=int, default=128, help='visual channels C')
    parser.add_argument('--text-channels', type=int, default=768)
    parser.add_argument('--tokens', type=int, default=20)
    parser.add_argument('--embed-dims', type=int, default=256, help='correlation width D')
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per variant')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    return parser.parse_args()


def build(cls, window_sizes, args, device) -> BSC:
    """A BSC with default init, gates opened (norm affine weights 1) so both paths count."""
    torch.manual_seed(0)
    module = cls(args.channels, args.text_channels, args.embed_dims, window_sizes)
    with torch.no_grad():
        module.gate_v[1].weight.fill_(1.0)
        module.gate_l_norm.weight.fill_(1.0)
    return module.to(device)


def make_inputs(args, device):
    gen = torch.Generator().manual_seed(1)
    vis = torch.randn(args.batch, args.channels, args.size, args.size, generator=gen)
    text = torch.randn(args.batch, args.tokens, args.text_channels, generator=gen)
    mask = torch.ones(args.batch, args.tokens, dtype=torch.long)
    mask[0, args.tokens * 2 // 3:] = 0  # one padded sample
    return vis.to(device), text.to(device), mask.to(device)


def step_fn(module: BSC, inputs) -> Callable[[], None]:
    vis, text, mask = inputs

    def step():
        vis_in = vis.detach().requires_grad_(True)
        text_in = text.detach().requires_grad_(True)
        module.zero_grad(set_to_none=True)
        vis_out, text_out = module(vis_in, text_in, mask)
        (vis_out.sum() + text_out.sum()).backward()

    return step




def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is visible')
    inputs = make_inputs(args, device)
    variants: Dict[str, BSC] = {
        'bsc (1,)': build(BSC, (1, ), args, device),
        'bsc (1,3,5)': build(BSC, (1, 3, 5), args, device),
        'unfold (1,3,5)': build(UnfoldBSC, (1, 3, 5), args, device),
    }
    load = os.getloadavg() if hasattr(os, 'getloadavg') else ('n/a', )
    print(f'BSC stage shape: B={args.batch}, {args.size}x{args.size}, C={args.channels}, '
          f'Nt={args.tokens}, C_l={args.text_channels}, D={args.embed_dims}; device {device}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'load average {load[0]:.2f}')

    vis, text, mask = inputs
    with torch.no_grad():
        got = variants['bsc (1,3,5)'](vis, text, mask)
        ref = variants['unfold (1,3,5)'](vis, text, mask)
    diff = max((a - b).abs().max().item() for a, b in zip(got, ref))
    print(f'outputs, bsc (1,3,5) vs unfold (1,3,5): max |diff| = {diff:.2e} '
          f'({"within" if diff <= 1e-5 else "OVER"} 1e-5)')

    steps = {name: step_fn(module, inputs) for name, module in variants.items()}
    for step in steps.values():  # warm-up: lazy allocations, kernel selection
        step()
    peaks = {name: peak_extra_bytes(step, device) for name, step in steps.items()}
    times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            times[name].append(timed(step, device))
    medians = {name: statistics.median(t[0] for t in ts) for name, ts in times.items()}
    cpu = {name: statistics.median(t[1] for t in ts) for name, ts in times.items()}

    print(f'{"variant":16s} {"peak extra MiB":>15s} {"fwd+bwd wall ms":>16s} {"CPU ms":>8s} '
          '(medians)')
    for name in steps:
        print(f'{name:16s} {peaks[name] / 2**20:15.1f} {medians[name] * 1e3:16.1f} '
              f'{cpu[name] * 1e3:8.1f}')
    multi, single, unfold = peaks['bsc (1,3,5)'], peaks['bsc (1,)'], peaks['unfold (1,3,5)']
    print(f'memory: bsc (1,3,5) / bsc (1,) = {multi / single:.2f} (target <= 1.5); '
          f'unfold (1,3,5) / bsc (1,3,5) = {unfold / multi:.2f} (target >= 3)')
    print(f'time:   bsc (1,3,5) / bsc (1,) = '
          f'{medians["bsc (1,3,5)"] / medians["bsc (1,)"]:.2f}; unfold (1,3,5) / bsc (1,3,5) '
          f'= {medians["unfold (1,3,5)"] / medians["bsc (1,3,5)"]:.2f} (wall)')

if __name__ == '__main__':
    main()
