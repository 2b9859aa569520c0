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
