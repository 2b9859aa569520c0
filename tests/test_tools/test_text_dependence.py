"""tools/analysis/text_dependence.py: the shuffled control and a short end-to-end run."""
import filecmp
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from collections import Counter

from mmengine.config import Config

from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'text_dependence', osp.join(REPO, 'tools', 'analysis', 'text_dependence.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shuffle_expressions = load_tool().shuffle_expressions


def _lines(root, split):
    with open(osp.join(root, f'output_phrase_{split}.txt')) as f:
        return [line.rstrip('\n').split(' ', 1) for line in f]


def test_shuffle_permutes_expressions_within_each_split(tmp_path):
    src, dst = str(tmp_path / 'data'), str(tmp_path / 'shuffled')
    make_refsegrs(src, num_images=30, seed=0, size=48)
    shuffle_expressions(src, dst, seed=0)
    for split in ('train', 'val', 'test'):
        before, after = _lines(src, split), _lines(dst, split)
        # same image ids line by line, same expressions, different pairing
        assert [i for i, _ in before] == [i for i, _ in after]
        assert Counter(e for _, e in before) == Counter(e for _, e in after)
        if len(before) > 3:
            assert [e for _, e in before] != [e for _, e in after]
    # images and masks untouched; the source is left as it was
    assert not filecmp.dircmp(osp.join(src, 'masks'), osp.join(dst, 'masks')).diff_files
    assert not filecmp.dircmp(osp.join(src, 'images'), osp.join(dst, 'images')).diff_files
    first = _lines(dst, 'train')
    shuffle_expressions(src, dst, seed=0)  # an existing copy is replaced: same seed, same result
    assert _lines(dst, 'train') == first


def test_script_trains_both_variants_and_reports(tmp_path):
    out = str(tmp_path / 'results.json')
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/text_dependence.py',
         'configs/btdnet/btdnet_tiny_synthetic.py', '--num-images', '12', '--size', '48',
         '--input-size', '48', '--iters', '2',
         '--work-dir', str(tmp_path / 'work'), '--out', out],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'true expressions' in proc.stdout and 'shuffled expressions' in proc.stdout
    with open(out) as f:
        report = json.load(f)
    assert report['input_size'] == 48 and report['iters'] == 2
    for name in ('true expressions', 'shuffled expressions'):
        res = report['results'][name]
        assert 0 <= res['mIoU'] <= 100 and res['train_seconds'] > 0
        # every test expression of the split was scored
        assert res['num_samples'] == len(_lines(osp.join(tmp_path, 'work', 'data'), 'test'))
    # the input size reached the model: a 48x48 network input (not the config's 64)
    work = tmp_path / 'work' / 'true'
    cfg = Config.fromfile(str(work / next(f for f in os.listdir(work) if f.endswith('.py'))))
    assert tuple(cfg.model.data_preprocessor.size) == (48, 48)
    assert cfg.model.backbone.vision.pretrain_img_size == 48
    assert all(tuple(step['scale']) == (48, 48) for step in cfg.test_dataloader.dataset.pipeline
               if step['type'] == 'Resize')


def test_seeds_mode_reports_every_seed_and_flags_a_collapse(tmp_path, monkeypatch, capsys):
    tool = load_tool()
    calls = []

    def fake_run(config, root, work_dir, iters, seed, input_size=None, per_seed=False):
        # seed 1 paints nothing on 96 % of the test samples: a collapse
        calls.append((osp.basename(root), seed, per_seed))
        test_empty = 96.0 if seed == 1 else 0.0
        return {'mIoU': 80.0 + seed if seed != 1 else 0.5, 'val/mIoU': 90.0 - seed,
                'val/empty': 0.0, 'test/empty': test_empty}

    monkeypatch.setattr(tool, 'run', fake_run)
    out = str(tmp_path / 'seeds.json')
    results = tool.main(['configs/lavt/lavt_tiny_synthetic.py', '--seeds', '3', '--seed', '0',
                         '--shuffled', '--colour-pairs', '--num-images', '4', '--size', '48',
                         '--work-dir', str(tmp_path / 'work'), '--out', out])
    assert calls == [(root, s, True) for root in ('data', 'data_shuffled') for s in (0, 1, 2)]
    printed = capsys.readouterr().out
    assert printed.count('COLLAPSED') == 2 and 'collapsed runs: 1 of 3' in printed
    assert 'val  mIoU mean  89.00  min  88.00' in printed
    assert 'test mIoU mean  54.17  min   0.50' in printed
    assert [results['true expressions'][s]['collapsed'] for s in (0, 1, 2)] == \
        [False, True, False]
    with open(out) as f:
        assert json.load(f)['colour_pairs'] is True
    # the colour pairs: every image twice, so the split files list ids in pairs
    ids = [int(i) for split in ('train', 'val', 'test')
           for i, _ in _lines(str(tmp_path / 'work' / 'data'), split)]
    assert sorted(ids) == list(range(8))


def test_shuffled_needs_seeds():
    tool = load_tool()
    try:
        tool.parse_args(['x.py', '--shuffled'])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError('--shuffled without --seeds was accepted')


def test_configure_unwraps_a_notarget_child(tmp_path):
    from mmrrsis.analysis import configure
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lavt', 'lavt_tiny_synthetic_notarget.py'))
    assert cfg.train_dataloader.dataset.type == 'NoTargetDataset'
    cfg = configure(cfg, str(tmp_path / 'data'), str(tmp_path / 'work'), 10, 0, unwrap=True)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'RefSegRSDataset' and 'dataset' not in dataset
        assert dataset.data_root == str(tmp_path / 'data')
    assert cfg.model.type == 'ExistenceEncoderDecoder'  # the model is the child's
