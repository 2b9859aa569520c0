"""tools/dataset_converters/check_dataset.py: exit 0 on a clean dataset, 1 on fatal problems."""
import os
import os.path as osp
import subprocess
import sys

from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'check_dataset.py')


def _check(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_clean_then_broken_dataset(tmp_path):
    root = str(tmp_path / 'refsegrs')
    summary = make_refsegrs(root, num_images=6, seed=0, size=48)
    clean = _check('refsegrs', root)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    samples = ', '.join(f'{s} {n}' for s, n in summary['samples'].items())
    assert f'samples: {samples}' in clean.stdout
    assert 'result: 0 fatal problem(s), 0 warning(s)' in clean.stdout

    first_id = open(osp.join(root, 'output_phrase_train.txt')).readline().split(' ', 1)[0]
    os.remove(osp.join(root, 'images', f'{first_id}.tif'))
    with open(osp.join(root, 'output_phrase_test.txt'), 'a') as f:
        f.write(f'{first_id} \n')
    broken = _check('refsegrs', root)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    n_test = summary['samples']['test']
    assert f'images/{first_id}.tif (output_phrase_train.txt, line 1)' in broken.stdout
    assert f'output_phrase_test.txt, line {n_test + 1}: image id "{first_id}"' in broken.stdout
    assert 'result: 2 fatal problem(s)' in broken.stdout
