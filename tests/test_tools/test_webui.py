"""tools/webui.py: the demo's logic, and the page driven in a real headless Chromium.

The browser test serves the demo of a tiny random BTDNet on localhost, uploads a synthetic
image, types an expression, presses "Segment" and checks that the mask shown on the page
equals ``inference_model``'s on the same input. It needs Gradio and Playwright (``pip install
-e ".[demo,tests]"``) and a Chromium (Debian: ``apt-get install chromium``; CI installs it).
``MMRRSIS_WEBUI_SCREENSHOT=path.png`` keeps the page's screenshot, and
``MMRRSIS_WEBUI_CHECKPOINT=ckpt.pth`` (with ``MMRRSIS_WEBUI_CONFIG=config.py``, by default the
tiny BTDNet config) runs the tests on a trained model and a bundled example instead: how the
README's screenshot was taken.
"""
import importlib.util
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import mmcv
import numpy as np
import pytest
import torch

from mmrrsis.apis import existence_score, inference_model, init_model, pred_mask
from mmrrsis.datasets.synthetic import make_refsegrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py')
EXPRESSION = 'the van on the right'


def load_tool():
    spec = importlib.util.spec_from_file_location('webui', osp.join(REPO, 'tools', 'webui.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny random BTDNet saved as a checkpoint, its vocab option and a test image."""
    root = tmp_path_factory.mktemp('webui')
    not_image = str(root / 'notes.png')
    with open(not_image, 'w') as f:
        f.write('not a picture')
    trained = os.environ.get('MMRRSIS_WEBUI_CHECKPOINT')
    if trained:
        image = osp.join(REPO, 'demo', 'examples', 'synthetic_1.png')
        config = os.environ.get('MMRRSIS_WEBUI_CONFIG', CONFIG)
        return dict(root=root, config=config, options={}, checkpoint=trained, image=image,
                    not_image=not_image, model=init_model(config, trained, device='cpu'))
    make_refsegrs(str(root / 'data'), num_images=6, seed=0, size=48)
    options = {'model.data_preprocessor.tokenizer': str(root / 'data' / 'bert_vocab' /
                                                        'vocab.txt')}
    torch.manual_seed(0)
    model = init_model(CONFIG, None, device='cpu', cfg_options=options)
    checkpoint = str(root / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    image = str(root / 'scene.png')
    mmcv.imwrite(mmcv.imread(str(root / 'data' / 'images' / '0.tif')), image)
    return dict(root=root, config=CONFIG, options=options, checkpoint=checkpoint, image=image,
                not_image=not_image, model=init_model(CONFIG, checkpoint, device='cpu',
                                                      cfg_options=options))


def test_demo_segment_messages_and_mask(tiny):
    tool = load_tool()
    demo = tool.Demo(tiny['model'], max_side=200, out_dir=str(tiny['root'] / 'out'))
    overlay, mask, mask_path, phrase, score, status = demo.segment(tiny['image'], EXPRESSION)
    expected = pred_mask(inference_model(tiny['model'], tiny['image'], EXPRESSION)) * 255
    assert np.array_equal(mask, expected)
    assert np.array_equal(mmcv.imread(mask_path, flag='grayscale'), expected)
    assert overlay.ndim == 3 and overlay.dtype == np.uint8
    assert phrase == 'the van' and score == 'no existence head'
    assert status.startswith(f'"{EXPRESSION}"')

    assert 'Type an expression' in demo.segment(tiny['image'], '   ')[-1]
    assert 'not an image' in demo.segment(tiny['not_image'], EXPRESSION)[-1]
    assert 'Pick an example' in demo.segment(None, EXPRESSION)[-1]
    big = str(tiny['root'] / 'big.png')
    mmcv.imwrite(np.zeros((60, 260, 3), np.uint8), big)
    refused = demo.segment(big, EXPRESSION)
    assert refused[0] is None and 'large_scene_infer.py' in refused[-1]


def _chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f'the demo server exited with {proc.returncode}:\n'
                               f'{proc.stdout.read()[-3000:]}')
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f'the demo server did not answer at {url} within {timeout} s')


def test_webui_in_headless_chromium(tiny):
    pytest.importorskip('gradio', reason='the web demo needs the demo extra: '
                        'pip install -e ".[demo]"')
    playwright = pytest.importorskip('playwright.sync_api',
                                     reason='the browser test needs playwright (tests extra)')
    chromium = _chromium()
    if chromium is None:
        pytest.skip('no Chromium on this machine (Debian: apt-get install chromium)')
    port = _free_port()
    options = [f'{k}={v}' for k, v in tiny['options'].items()]
    if options:
        options.insert(0, '--cfg-options')
    env = dict(os.environ, OMP_NUM_THREADS='1', GRADIO_ANALYTICS_ENABLED='False',
               PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, osp.join(REPO, 'tools', 'webui.py'), tiny['config'], tiny['checkpoint'],
         '--device', 'cpu', '--port', str(port), *options],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        _wait_for(url, proc)
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=['--no-sandbox'])
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            page.goto(url)
            page.wait_for_selector('#segment')

            page.fill('#expression textarea', EXPRESSION)
            page.set_input_files('#image_file input[type=file]', tiny['not_image'])
            page.click('#segment')
            page.wait_for_function(
                "document.querySelector('#status').innerText.includes('not an image')",
                timeout=60000)

            # a fresh page: the file box of the refused upload has no file input any more
            page.reload()
            page.wait_for_selector('#segment')
            page.fill('#expression textarea', EXPRESSION)
            page.set_input_files('#image_file input[type=file]', tiny['image'])
            page.wait_for_selector('#preview img', timeout=60000)
            page.click('#segment')
            page.wait_for_selector('#mask img', timeout=120000)
            src = page.get_attribute('#mask img', 'src')
            shown = page.request.get(src).body()
            assert page.input_value('#key_phrase textarea') == 'the van'
            page.screenshot(path=os.environ.get('MMRRSIS_WEBUI_SCREENSHOT',
                                                str(tiny['root'] / 'webui.png')),
                            full_page=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    mask = mmcv.imfrombytes(shown, flag='grayscale')
    expected = pred_mask(inference_model(tiny['model'], tiny['image'], EXPRESSION)) * 255
    assert mask.shape == expected.shape
    assert np.array_equal(mask, expected)


def test_demo_shows_the_existence_score(tiny):
    if not tiny['options']:
        pytest.skip('runs on the tiny random models only')
    tool = load_tool()
    config = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic_notarget.py')
    model = init_model(config, None, device='cpu', cfg_options=tiny['options'])
    demo = tool.Demo(model, out_dir=str(tiny['root'] / 'out_exist'))
    _, mask, _, _, score, _ = demo.segment(tiny['image'], EXPRESSION)
    expected = existence_score(inference_model(model, tiny['image'], EXPRESSION))
    assert score.startswith(f'{expected:.3f} (threshold 0.5: ')
    if 'emptied' in score:
        assert mask.max() == 0
