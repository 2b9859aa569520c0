"""Inference API: build a referring segmentor, segment (image, expression) pairs, draw results.

The counterpart of mmseg's ``mmseg.apis.inference`` for models that read an expression.
"""
import copy
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmseg.structures import SegDataSample
from torch import nn

from mmrrsis.registry import DATASETS, MODELS, TRANSFORMS
from mmrrsis.utils import register_all_modules
from mmrrsis.visualization import RRSISLocalVisualizer

ImageType = Union[str, Path, np.ndarray]
PairType = Tuple[ImageType, str]

# Steps of a dataset's test pipeline that need annotations, which inference does not have.
ANNOTATION_LOADERS = ('LoadReferringAnnotations', 'LoadAnnotations')
BINARY_META = dict(classes=('background', 'target'), palette=[[0, 0, 0], [255, 64, 64]])


class ArrayOrFileLoader:
    """First step of the inference pipeline: loads a file, or takes an already loaded array.

    Args:
        file_loader (dict): Config of the test pipeline's image loader (e.g.
            ``LoadReferringImage``), used as is for ``img_path`` inputs, so its conversions
            (grey to 3 channels, 16 to 8 bits...) apply at inference too.
    """

    def __init__(self, file_loader: dict) -> None:
        self.from_file = TRANSFORMS.build(file_loader)
        self.from_array = TRANSFORMS.build(dict(type='LoadImageFromNDArray'))

    def __call__(self, results: dict) -> dict:
        return self.from_array(results) if 'img' in results else self.from_file(results)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(from_file={self.from_file!r})'


def unwrap_test_dataset(cfg: Config) -> dict:
    """The config of the dataset the test dataloader reads, inside any wrappers.

    Dataset wrappers (``NoTargetDataset``, mmengine's ``RepeatDataset``...) hold the real
    dataset's config in their ``dataset`` key and have no pipeline of their own.

    Args:
        cfg (Config): Model config.

    Returns:
        dict: The innermost ``dataset`` config of ``cfg.test_dataloader``.
    """
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return dataset


def build_inference_pipeline(cfg: Config) -> Compose:
    """Builds the pipeline that turns one (image, expression) input into model input.

    It is the test dataset's pipeline (``cfg.test_dataloader.dataset.pipeline``, inside any
    dataset wrapper, see :func:`unwrap_test_dataset`) without its annotation-loading steps;
    its first step, the image loader, is wrapped in :class:`ArrayOrFileLoader` so that an
    input may be a file (``img_path``) or a loaded array (``img``). Every other step is kept,
    so a ``KeyPhraseMasker`` in the test pipeline marks the key phrase at inference as it
    does in testing.

    Args:
        cfg (Config): Model config.

    Returns:
        Compose: Callable on ``dict(img_path=... or img=..., expression=...)``.
    """
    steps = [t for t in copy.deepcopy(unwrap_test_dataset(cfg).get('pipeline', []))
             if t['type'] not in ANNOTATION_LOADERS]
    if not steps or not str(steps[0]['type']).startswith('Load'):
        raise ValueError('the test pipeline (test_dataloader.dataset.pipeline) must start with '
                         f'an image loader such as LoadReferringImage, got {steps[:1]}')
    return Compose([ArrayOrFileLoader(steps[0])] + steps[1:])


def _load_checkpoint(model: nn.Module, checkpoint: str) -> dict:
    """Loads weights with the safe unpickler (``weights_only=True``) and returns the file."""
    if checkpoint.startswith(('http://', 'https://')):
        state = torch.hub.load_state_dict_from_url(checkpoint, map_location='cpu',
                                                   weights_only=True)
    else:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    _load_checkpoint_to_model(model, state)
    return state


def _dataset_meta(cfg: Config, checkpoint: Optional[dict]) -> dict:
    """Classes and palette: the checkpoint's, else the test dataset class's METAINFO."""
    meta = (checkpoint or {}).get('meta', {}).get('dataset_meta')
    if meta:
        return dict(meta)
    dataset_cls = DATASETS.get(unwrap_test_dataset(cfg).get('type', ''))
    return dict(getattr(dataset_cls, 'METAINFO', None) or BINARY_META)


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Builds a referring segmentor from a config, ready for :func:`inference_model`.

    Registers the mmrrsis modules, builds ``cfg.model``, loads the checkpoint with
    ``torch.load(weights_only=True)`` and sets ``model.dataset_meta`` from the checkpoint's
    meta (mmengine writes ``meta['dataset_meta']``) or, failing that, from the METAINFO of the
    test dataset class. The model keeps its config as ``model.cfg`` and its inference
    pipeline (:func:`build_inference_pipeline`) as ``model.inference_pipeline``.

    Args:
        config (str | Path | Config): Config file or loaded config (copied, not modified).
        checkpoint (str, optional): Checkpoint file or http(s) URL. Without it the model is
            initialised as a training run would start (``model.init_weights()``: the config's
            pretrained backbone and BERT weights, random elsewhere). Defaults to None.
        device (str): Device to run on, e.g. 'cpu' or 'cuda:0'. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config, e.g.
            ``{'model.data_preprocessor.tokenizer': 'path/to/vocab.txt'}``. Defaults to None.

    Returns:
        nn.Module: The segmentor in eval mode on ``device``.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file name or a Config, got {type(config).__name__}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmrrsis'))
    config.model.train_cfg = None
    model = MODELS.build(config.model)
    if checkpoint is None:
        model.init_weights()
        state = None
    else:  # every weight comes from the checkpoint: nothing pretrained is loaded first
        state = _load_checkpoint(model, checkpoint)
    model.dataset_meta = _dataset_meta(config, state)
    model.cfg = config
    model.inference_pipeline = build_inference_pipeline(config)
    if str(device) == 'cpu':
        model = revert_sync_batchnorm(model)
    return model.to(device).eval()


def _check_expression(expression, index: int) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f'input {index}: the expression must be a non-empty string, '
                         f'got {expression!r}')
    return expression


def to_pairs(inputs) -> List[PairType]:
    """Normalises a list of inputs to (image, expression) pairs.

    Args:
        inputs (list): Items that are ``(image, expression)`` tuples/lists or dicts
            ``{'img': image, 'expression': str}``.

    Returns:
        list[tuple]: (image, expression) pairs.
    """
    pairs = []
    for i, item in enumerate(inputs):
        if isinstance(item, dict):
            if 'img' not in item or 'expression' not in item:
                raise KeyError(f'input {i} is a dict without "img" and "expression" keys: '
                               f'{sorted(item)}')
            image, expression = item['img'], item['expression']
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            image, expression = item
        else:
            raise TypeError(f'input {i} must be an (image, expression) pair or a dict with '
                            f'"img" and "expression", got {type(item).__name__}')
        pairs.append((image, _check_expression(expression, i)))
    return pairs


def pipeline_input(image: ImageType, expression: str) -> dict:
    """The dict :func:`build_inference_pipeline`'s pipeline takes for one input.

    Args:
        image (str | Path | np.ndarray): Image file, or an (H, W, 3) uint8 array in BGR
            order (as ``mmcv.imread`` returns it).
        expression (str): Referring expression.

    Returns:
        dict: ``img_path`` (file) or ``img`` (array), and ``expression``.
    """
    if isinstance(image, (str, Path)):
        return dict(img_path=str(image), expression=expression)
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError('image arrays must be (H, W, 3) uint8 in BGR order, got '
                             f'{image.dtype} {image.shape}')
        return dict(img=image, expression=expression)
    raise TypeError(f'image must be a file path or a numpy array, got {type(image).__name__}')


def _inference_pipeline(model: nn.Module) -> Compose:
    pipeline = getattr(model, 'inference_pipeline', None)
    if pipeline is None:
        if getattr(model, 'cfg', None) is None:
            raise AttributeError(f'{type(model).__name__} has no `cfg`; build it with '
                                 'mmrrsis.apis.init_model')
        pipeline = model.inference_pipeline = build_inference_pipeline(model.cfg)
    return pipeline


def inference_model(model: nn.Module,
                    image: Union[ImageType, Sequence],
                    expression: Union[str, Sequence[str], None] = None
                    ) -> Union[SegDataSample, List[SegDataSample]]:
    """Segments what an expression refers to.

    Three call forms:

    * ``inference_model(model, image, 'the red car')`` -> one ``SegDataSample``;
    * ``inference_model(model, [(image, expression), ...])`` -> a list, one forward pass;
    * ``inference_model(model, [image, ...], [expression, ...])`` -> a list, likewise.

    An image is a file path or an (H, W, 3) uint8 array in **BGR** order, as ``mmcv.imread``
    and ``cv2.imread`` return it (convert RGB arrays with ``image[..., ::-1]``).

    Args:
        model (nn.Module): Segmentor from :func:`init_model` (or any with ``cfg``).
        image (str | Path | np.ndarray | list): Image, or the list of pairs / images.
        expression (str | list[str], optional): Expression(s); None when ``image`` is a
            list of pairs. Defaults to None.

    Returns:
        SegDataSample | list[SegDataSample]: Each has ``pred_sem_seg`` (1, H, W) with 0/1 at
        the image's original size, ``seg_logits`` (C, H, W) resized to that size
        (C = 2: background, target) and the expression in its metainfo. A model with an
        existence head adds ``existence_score``, p(the expression's object is in the image)
        (see :func:`existence_score`); its mask is empty where that is below the head's
        threshold.
    """
    if isinstance(expression, str):
        pairs, is_batch = [(image, _check_expression(expression, 0))], False
    elif expression is None:
        if not isinstance(image, (list, tuple)):
            raise TypeError('give an expression, or a list of (image, expression) pairs')
        pairs, is_batch = to_pairs(image), True
    else:
        if not isinstance(image, (list, tuple)) or len(image) != len(expression):
            raise ValueError('a list of expressions needs a list of images of the same length')
        pairs, is_batch = to_pairs(list(zip(image, expression))), True
    pipeline = _inference_pipeline(model)
    data = pseudo_collate([pipeline(pipeline_input(img, expr)) for img, expr in pairs])
    with torch.no_grad():
        results = model.test_step(data)
    return results if is_batch else results[0]


def pred_mask(result: SegDataSample) -> np.ndarray:
    """The predicted target mask of a result.

    Args:
        result (SegDataSample): Output of :func:`inference_model`.

    Returns:
        np.ndarray: (H, W) uint8, 1 on the target and 0 elsewhere.
    """
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def existence_score(result: SegDataSample) -> Optional[float]:
    """The predicted probability that the expression's object is in the image.

    Args:
        result (SegDataSample): Output of :func:`inference_model`.

    Returns:
        float | None: p(target present) in [0, 1] from the model's existence head, or None
        for a model without one.
    """
    score = result.get('existence_score')
    return None if score is None else float(score)


def read_rgb(image: ImageType) -> np.ndarray:
    """Reads an image file, or converts a BGR array, to an (H, W, 3) RGB array."""
    if isinstance(image, np.ndarray):
        return mmcv.bgr2rgb(image)
    return mmcv.imread(str(image), channel_order='rgb')


def show_result(model: nn.Module,
                image: ImageType,
                result: SegDataSample,
                out_file: Optional[str] = None,
                opacity: float = 0.5,
                show: bool = False,
                wait_time: float = 0) -> np.ndarray:
    """Draws the predicted mask over the image with the expression as a caption.

    Args:
        model (nn.Module): The segmentor (its ``dataset_meta`` gives the palette).
        image (str | Path | np.ndarray): The image given to :func:`inference_model`
            (file, or BGR array).
        result (SegDataSample): Its result.
        out_file (str, optional): Where to write the picture. Defaults to None.
        opacity (float): Opacity of the mask colour, in (0, 1]. Defaults to 0.5.
        show (bool): Whether to display it in a window. Defaults to False.
        wait_time (float): Seconds to show it (0: until a key is pressed). Defaults to 0.

    Returns:
        np.ndarray: The (H', W', 3) RGB picture (scaled up for small images, caption below).
    """
    visualizer = RRSISLocalVisualizer(name='rrsis_inference', alpha=opacity)
    visualizer.dataset_meta = getattr(model, 'dataset_meta', None) or dict(BINARY_META)
    name = osp.splitext(osp.basename(str(image)))[0] if not isinstance(image, np.ndarray) \
        else 'image'
    visualizer.add_datasample(name, read_rgb(image), result, draw_gt=False, show=show,
                              wait_time=wait_time, out_file=out_file)
    return visualizer.get_image()
