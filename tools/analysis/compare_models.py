"""Models of several configs in one process (SBANet against LAVT by default): time and memory
of a training step and an inference.

``benchmark.py`` measures one config against its bare encoders; this script puts several
configs in the same interleaved runs (:func:`mmrrsis.analysis.measure`), so that the load of a
shared machine hits them alike: the bare Swin + BERT of the reference config, the reference
config's model (LAVT by default) and each ``--configs`` model (SBANet by default), all built
offline with random weights, each with its own config's optimizer wrapper, all fed the same
preprocessed batch. After ``benchmark.py``'s tables (ratios to ``bare``) it prints every
model's ratios to the reference model: median and minimum wall time and median CPU time of
each mode, and state / peak-extra / peak memory (see ``benchmark.py`` for the definitions).

Example, the measurement for issue 13 (Swin-B + BERT-base, 480x480, batch 1, CPU; three
models of 196-269 M parameters whose states take 6.9 GiB, plus up to 2 GiB during a step;
a LAVT training step takes about 30 s of CPU on one core of the development machine, the
whole run about 20 min)::

    python tools/analysis/compare_models.py --size 480 --threads 1 --iters 3
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmrrsis  # noqa: E402,F401  (first: makes mmseg importable with mmcv-lite)
import torch  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmrrsis.analysis import (Runner, bare_model_cfg, header, load_config,  # noqa: E402
                              make_batch, measure)
from mmrrsis.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Models of several configs against one '
                                     'reference model, in the same interleaved runs')
    parser.add_argument('--reference', default='configs/lavt/lavt_swinb_rrsisd.py',
                        help='the config the ratios are taken to (its encoders make `bare`)')
    parser.add_argument('--configs', nargs='+',
                        default=['projects/sbanet/configs/sbanet_swinb_rrsisd.py'])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--iters', type=int, default=3, help='timed steps per model and mode')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--size', type=int, default=None,
                        help='input side (default: the reference config\'s)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision as tools/train.py --amp (bfloat16 on CPU)')
    parser.add_argument('--modes', nargs='+', default=['train', 'infer'],
                        choices=['train', 'infer'])
    parser.add_argument('--no-memory', action='store_true', help='skip the memory runs')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    return parser.parse_args(argv)


def ratios(results: dict, reference: str, names) -> None:
    """Prints each model's figures over the reference model's."""
    for mode, figures in results.items():
        print(f'\n{mode}: ratio to {reference}')
        ref = figures[reference]
        for name in names:
            fig = figures[name]
            line = (f'  {name:30s} wall median {fig["wall"] / ref["wall"]:.3f}  min '
                    f'{fig["min"] / ref["min"]:.3f}  CPU {fig["cpu"] / ref["cpu"]:.3f}')
            if 'state' in fig:
                peak = (fig['state'] + fig['peak_extra']) / (ref['state'] + ref['peak_extra'])
                line += (f'  | memory: state {fig["state"] / ref["state"]:.3f}  peak extra '
                         f'{fig["peak_extra"] / ref["peak_extra"]:.3f}  peak {peak:.3f}')
            print(line)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is visible')
    register_all_modules()
    MMLogger.get_instance('mmrrsis_benchmark', log_level='WARNING')
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    cfg, model_cfg, size = load_config(args.reference, args)
    args.size = size  # every config at the reference's input side
    batch = make_batch(size, args.batch)
    reference = osp.splitext(osp.basename(args.reference))[0]
    bare = bare_model_cfg(model_cfg)
    # bare_model_cfg reads the text width off the decode head (768 unless it names one);
    # LAVTHead reads no text, so take it from the BERT (a tiny config's is narrower)
    text = model_cfg.backbone.get('text', model_cfg.get('text_encoder'))
    bare.decode_head.text_channels = (text.get('bert_config') or {}).get('hidden_size', 768)
    runners = [
        Runner('bare', bare, cfg.optim_wrapper, batch, args.device, args.amp),
        Runner(reference, model_cfg, cfg.optim_wrapper, batch, args.device, args.amp)
    ]
    names = []
    for path in args.configs:
        other, other_model, _ = load_config(path, args)
        names.append(osp.splitext(osp.basename(path))[0])
        runners.append(Runner(names[-1], other_model, other.optim_wrapper, batch, args.device,
                              args.amp))
    print(f'reference {args.reference}, compared {" ".join(args.configs)}; ', end='')
    header(args, size, model_cfg, runners)
    results = measure(runners, args)
    ratios(results, reference, names)
    return results


if __name__ == '__main__':
    main()
