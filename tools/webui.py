"""A web page to try a referring model on your own image (Gradio).

`python tools/webui.py [CONFIG] [CHECKPOINT] [--device cpu] [--port 7860]`

Pick one of the bundled synthetic examples or upload an image, type an expression and press
"Segment": the page shows the mask drawn over the image, the mask itself (downloadable as a
PNG, 0 background / 255 target, at the image's size), the key phrase the model masked (BTDNet
masks the referred noun phrase for its text branch) and the existence score when the model
has an existence head. With no arguments it serves the tiny BTDNet of `tools/quickstart.sh`
(`configs/btdnet/btdnet_tiny_synthetic.py` and the checkpoint named by
`work_dirs/quickstart/last_checkpoint`).

Needs the `demo` extra: `pip install -e ".[demo]"` (Gradio). Images whose longer side exceeds
`--max-side` (default 4096 px) are refused with a message rather than resized to the model's
input, which would erase small targets: segment scenes with `tools/large_scene_infer.py`,
which tiles them.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import mmrrsis  # noqa: E402,F401  (applies the compatibility layer first)
import mmcv  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmrrsis.apis import (existence_score, inference_model, init_model, pred_mask,  # noqa: E402
                          show_result)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'btdnet', 'btdnet_tiny_synthetic.py')
DEFAULT_WORK_DIR = osp.join(REPO, 'work_dirs', 'quickstart')
EXAMPLES_DIR = osp.join(REPO, 'demo', 'examples')


class DemoError(ValueError):
    """An input the demo cannot segment; its message is shown on the page."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Web demo of a referring segmentation model')
    parser.add_argument('config', nargs='?', default=None,
                        help='model config file (default: the quickstart\'s tiny BTDNet and '
                        'its last checkpoint)')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint (random weights if omitted with a config)')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--max-side', type=int, default=4096,
                        help='refuse images with a longer side (use large_scene_infer.py)')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.data_preprocessor.tokenizer=...')
    return parser.parse_args(argv)


def quickstart_checkpoint(work_dir: str = DEFAULT_WORK_DIR) -> Optional[str]:
    """The checkpoint named by the quickstart's ``last_checkpoint`` file, if there is one."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = osp.join(work_dir, osp.basename(f.read().strip()))
    return path if osp.isfile(path) else None


def read_image(path: Optional[str], max_side: int) -> np.ndarray:
    """Reads an uploaded file as a BGR image, or raises :class:`DemoError` saying why not."""
    if not path:
        raise DemoError('Pick an example or upload an image first.')
    name = osp.basename(path)
    with open(path, 'rb') as f:
        content = f.read()
    img = mmcv.imfrombytes(content, flag='color') if content else None
    if img is None:
        raise DemoError(f'"{name}" is not an image this demo can read (PNG, JPEG, TIFF, BMP).')
    if max(img.shape[:2]) > max_side:
        raise DemoError(f'"{name}" is {img.shape[1]}x{img.shape[0]} px, larger than the '
                        f'{max_side} px this page accepts: the model sees its input resized, '
                        'so small targets would vanish. Segment whole scenes with '
                        'tools/large_scene_infer.py, which tiles them.')
    return img


def key_phrase(result) -> str:
    """The words of the expression that the pipeline's key-phrase masker removed."""
    expression = result.metainfo.get('expression', '')
    spans = result.metainfo.get('key_phrase_spans') or []
    return ', '.join(expression[start:end] for start, end in spans)


class Demo:
    """The model and what one press of "Segment" computes (independent of Gradio).

    Args:
        model (nn.Module): Segmentor from :func:`mmrrsis.apis.init_model`.
        max_side (int): Longest image side accepted. Defaults to 4096.
        opacity (float): Mask opacity of the overlay. Defaults to 0.5.
        out_dir (str, optional): Where mask PNGs are written. Defaults to a temporary folder.
    """

    def __init__(self, model, max_side: int = 4096, opacity: float = 0.5,
                 out_dir: Optional[str] = None):
        self.model = model
        self.max_side = max_side
        self.opacity = opacity
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='mmrrsis_webui_')
        self.count = 0

    def preview(self, image_path: Optional[str]) -> Optional[np.ndarray]:
        """The uploaded image as RGB for display, None when it cannot be read."""
        try:
            return mmcv.bgr2rgb(read_image(image_path, self.max_side))
        except DemoError:
            return None

    def segment(self, image_path: Optional[str], expression: Optional[str]) -> Tuple:
        """Segments one uploaded image.

        Args:
            image_path (str, optional): The uploaded file.
            expression (str, optional): The typed expression.

        Returns:
            tuple: overlay (H', W', 3) RGB, mask (H, W) uint8 0/255, the mask PNG's path,
            the masked key phrase, the existence score text and a status message. On bad
            input all but the message are None.
        """
        try:
            expression = (expression or '').strip()
            if not expression:
                raise DemoError('Type an expression, e.g. "the red vehicle on the left".')
            img = read_image(image_path, self.max_side)
        except DemoError as error:
            return None, None, None, '', '', f'**Cannot segment:** {error}'
        result = inference_model(self.model, img, expression)
        mask = pred_mask(result) * np.uint8(255)
        self.count += 1
        mask_path = osp.join(self.out_dir, f'mask_{self.count:04d}.png')
        mmcv.imwrite(mask, mask_path)
        overlay = show_result(self.model, img, result, opacity=self.opacity)
        score = existence_score(result)
        if score is None:
            score_text = 'no existence head'
        else:
            threshold = getattr(getattr(self.model, 'existence_head', None), 'threshold', 0.5)
            verdict = 'present' if score >= threshold else 'absent: mask emptied'
            score_text = f'{score:.3f} (threshold {threshold}: {verdict})'
        share = 100.0 * (mask > 0).mean()
        status = (f'"{expression}": {share:.1f} % of the {img.shape[1]}x{img.shape[0]} image '
                  'is target.')
        return overlay, mask, mask_path, key_phrase(result), score_text, status


def load_examples(examples_dir: str = EXAMPLES_DIR) -> list:
    """[image path, expression] pairs of ``examples.json`` (written by demo/make_examples.py)."""
    index = osp.join(examples_dir, 'examples.json')
    if not osp.isfile(index):
        return []
    with open(index) as f:
        return [[osp.join(examples_dir, item['image']), item['expression']]
                for item in json.load(f)]


def build_app(demo: Demo, examples_dir: str = EXAMPLES_DIR):
    """The Gradio page of a :class:`Demo`."""
    import gradio as gr

    with gr.Blocks(title='mmrrsis: referring remote-sensing segmentation') as app:
        gr.Markdown('## mmrrsis: referring remote-sensing image segmentation\n'
                    'Upload an image (or pick an example below), describe one object, press '
                    '**Segment**.')
        with gr.Row():
            with gr.Column():
                image = gr.File(label='Image', file_types=['image'], type='filepath',
                                elem_id='image_file')
                preview = gr.Image(label='Input', type='numpy', interactive=False,
                                   elem_id='preview', height=256)
                expression = gr.Textbox(label='Expression', elem_id='expression',
                                        placeholder='the red vehicle on the left')
                button = gr.Button('Segment', variant='primary', elem_id='segment')
                status = gr.Markdown(elem_id='status')
            with gr.Column():
                overlay = gr.Image(label='Overlay', type='numpy', elem_id='overlay',
                                   interactive=False)
                mask = gr.Image(label='Mask', type='numpy', image_mode='L', format='png',
                                elem_id='mask', interactive=False, height=256)
                mask_file = gr.File(label='Mask PNG', elem_id='mask_file', interactive=False)
                phrase = gr.Textbox(label='Masked key phrase', elem_id='key_phrase',
                                    interactive=False)
                score = gr.Textbox(label='Existence score p(target present)',
                                   elem_id='existence', interactive=False)
        examples = load_examples(examples_dir)
        if examples:
            gr.Examples(examples, inputs=[image, expression])
        image.change(demo.preview, inputs=image, outputs=preview)
        button.click(demo.segment, inputs=[image, expression],
                     outputs=[overlay, mask, mask_file, phrase, score, status])
    return app


def main(argv=None):
    args = parse_args(argv)
    config, checkpoint = args.config, args.checkpoint
    if config is None:
        config, checkpoint = DEFAULT_CONFIG, quickstart_checkpoint()
        if checkpoint is None:
            raise FileNotFoundError('no quickstart checkpoint in work_dirs/quickstart: run '
                                    'bash tools/quickstart.sh first, or give CONFIG CHECKPOINT')
    elif checkpoint is None:
        print(f'[webui] no checkpoint given: {config} runs with random weights')
    model = init_model(config, checkpoint, device=args.device,
                       cfg_options=args.cfg_options)
    app = build_app(Demo(model, max_side=args.max_side, opacity=args.opacity))
    print(f'[webui] {config} ({checkpoint or "random weights"}) on '
          f'http://{args.host}:{args.port}', flush=True)
    app.launch(server_name=args.host, server_port=args.port,
               allowed_paths=[EXAMPLES_DIR], quiet=True, prevent_thread_lock=False)


if __name__ == '__main__':
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    main()
