"""Evaluates a checkpoint: `python tools/test.py CONFIG CHECKPOINT [--show-dir DIR]`."""
import argparse
import os
import os.path as osp
import sys
from functools import partial

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import mmrrsis  # noqa: E402,F401  (applies the compatibility layer first)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmrrsis.engine.runner.strict_loading import load_checkpoint_strictly  # noqa: E402
from mmrrsis.registry import RUNNERS  # noqa: E402
from mmrrsis.utils import adapt_cfg_to_machine, register_all_modules  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a referring segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where evaluation metrics are saved')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load a checkpoint that does not fit the config anyway: what fits is '
                        'loaded, the rest keeps its initial weights (mmengine only warns)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir',
                        help='folder where the painted pictures are saved (relative: inside the work dir)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_evaluator.eval_resolution=input')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    """Makes the visualization hook draw every test sample (as mmseg's test tool does)."""
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError('--show/--show-dir need default_hooks.visualization '
                           '(e.g. RRSISVisualizationHook) in the config')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        # a relative --show-dir lands inside the work dir, not the current folder
        visualizer['save_dir'] = osp.join(cfg.work_dir, args.show_dir)
        hook['interval'] = 1
    return cfg


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    adapt_cfg_to_machine(cfg)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if not args.allow_partial:
        # mmengine loads with strict=False and would score a partly random model
        runner.load_checkpoint = partial(load_checkpoint_strictly, runner)
    runner.test()


if __name__ == '__main__':
    main()
