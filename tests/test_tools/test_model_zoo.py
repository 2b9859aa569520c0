"""tools/analysis/benchmark.py --all: the model-zoo tables from metafiles, on tiny configs;
and the repository's metafiles name existing configs and complete results."""
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark', osp.join(REPO, 'tools', 'analysis', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

META = """
Collections:
  - Name: LAVT
  - Name: BTDNet
  - Name: FIANet
Models:
  - Name: lavt_tiny
    In Collection: LAVT
    Config: configs/lavt/lavt_tiny_synthetic.py
    Zoo: true
    Metadata: {Implementation: checked, Converter: tools/model_converters/lavt2mmrrsis.py}
    Results:
      - {Dataset: RRSIS-D, Split: test, Metrics: {mIoU: 61.04, oIoU: 77.19}, Protocol: p1,
         Source: s1}
  - Name: not_in_the_zoo
    In Collection: LAVT
    Config: configs/lavt/lavt_swinb_rrsisd.py
  - Name: btdnet_tiny
    In Collection: BTDNet
    Config: configs/btdnet/btdnet_tiny_synthetic.py
    Zoo: true
  - Name: fianet_tiny
    In Collection: FIANet
    Config: projects/fianet/configs/fianet_tiny_synthetic.py
    Zoo: true
"""

NEW_ZOO_MODEL = """  - Name: RSRefSeg2
Models:
  - Name: rsrefseg2_tiny
    In Collection: RSRefSeg2
    Config: projects/rsrefseg2/configs/rsrefseg2_tiny_synthetic.py
    Zoo: true
    Results:
      - {Dataset: RISBench, Split: test, Metrics: {mIoU: 72.57}, Protocol: p2, Source: s2}"""


def test_benchmark_all_writes_the_zoo_tables(tmp_path):
    meta = tmp_path / 'metafile.yaml'
    meta.write_text(META)
    out = tmp_path / 'docs'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), '--all',
         '--metafiles', str(meta), '--out-dir', str(out), '--iters', '1', '--warmup', '0',
         '--size', '64', '--no-memory', '--threads', '1'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / 'model_zoo.json').read_text())
    # FIANet's preprocessor needs the object and position spans of its test pipeline
    assert [row['name'] for row in report['models']] == ['lavt_tiny', 'btdnet_tiny',
                                                          'fianet_tiny']
    for row in report['models']:
        assert row['input_size'] == 64
        assert row['params']['total'] == sum(
            row['params'][k] for k in ('vision', 'text', 'fusion', 'neck', 'heads'))
        for mode in ('train', 'infer'):
            assert row['timing'][mode]['bare']['wall'] > 0
            assert row['timing'][mode][row['name']]['wall'] > 0
    page = (out / 'model_zoo.md').read_text()
    assert '| LAVT | [`lavt_tiny_synthetic.py`]' in page
    assert '61.04 / 77.19' in page and 'RRSIS-D: p1' in page
    assert '`tools/model_converters/lavt2mmrrsis.py`' in page
    assert 'not_in_the_zoo' not in page

    # --refresh re-reads the metafiles and keeps the measured figures; a model new to the zoo
    # gets its parameters and FLOPs and no timing, a result without oIoU a dash
    meta.write_text(META.replace('61.04', '61.50').replace('Models:', NEW_ZOO_MODEL))
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), '--all',
         '--refresh', '--metafiles', str(meta), '--out-dir', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    refreshed = json.loads((out / 'model_zoo.json').read_text())
    assert [row['name'] for row in refreshed['models']] == ['rsrefseg2_tiny', 'lavt_tiny',
                                                             'btdnet_tiny', 'fianet_tiny']
    assert refreshed['models'][1]['timing'] == report['models'][0]['timing']
    added = refreshed['models'][0]
    assert added['timing'] == {} and added['input_size'] == 64
    assert added['params']['total'] == sum(
        added['params'][k] for k in ('vision', 'text', 'fusion', 'neck', 'heads'))
    assert added['flops']['vision'] > 0 and added['flops']['total'] > 0
    page = (out / 'model_zoo.md').read_text()
    assert '61.50 / 77.19' in page
    row = next(line for line in page.splitlines() if line.startswith('| RSRefSeg2 |'))
    assert '| n/a | n/a |' in row and '| 72.57 / — |' in row and 'RISBench: p2' in row
    assert 'Added by `python tools/analysis/benchmark.py --all --refresh' in page
    assert ': rsrefseg2_tiny (parameters and GFLOPs; not timed).' in page


def test_repository_metafiles_are_complete():
    tool = load_tool()
    files = tool.metafiles()
    # model-index.yml imports every method's metafile: LAVT's first, as on the page
    assert files[0] == osp.join(REPO, 'configs', 'lavt', 'metafile.yaml')
    assert set(files) == set(glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yaml')) +
                             glob.glob(osp.join(REPO, 'projects', '*', 'metafile.yaml')))
    models = tool.zoo_models(files)
    assert {m['collection']['Name'] for m in models} == {'LAVT', 'BTDNet', 'FIANet', 'RMSIN',
                                                          'SBANet', 'RSRefSeg2'}
    for path in files:
        for model in yaml.safe_load(open(path))['Models']:
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
            converter = (model.get('Metadata') or {}).get('Converter')
            assert converter is None or osp.isfile(osp.join(REPO, converter)), converter
            for result in model.get('Results', []):
                assert {'Dataset', 'Split', 'Metrics', 'Protocol', 'Source'} <= set(result)
                # oIoU where published (RSRefSeg 2's RISBench figure is mIoU only)
                assert 'mIoU' in result['Metrics']
