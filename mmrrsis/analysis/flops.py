"""Parameters and FLOPs of a referring model, per component, text side included.

The config's model is built offline (random weights, a WordPiece vocabulary made from the
expression, no downloads) and traced by mmengine's complexity analysis
(``mmengine.analysis.FlopAnalyzer``, fvcore's counter) on one image and one expression, in
eval mode. One multiply-add counts as one FLOP, as in mmseg and mmengine; operators without a
FLOP rule count zero and are reported. PyTorch's fused ``scaled_dot_product_attention`` gets
a rule here (the two matrix products of an attention), and so does the convolution with a
string padding (``aten::_convolution_mode``). ``tools/analysis/get_flops.py`` prints
the counts; ``tools/analysis/benchmark.py --all`` puts them in the model-zoo table.
"""
import copy
import tempfile
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from mmrrsis.apis import build_inference_pipeline
from mmrrsis.datasets.synthetic import build_vocab
from mmrrsis.datasets.transforms import KeyPhraseMasker
from mmrrsis.models.utils import takes_text
from mmrrsis.registry import MODELS
from mmrrsis.utils.offline import offline_model_cfg

# the expression the analyses and benchmarks feed a model
EXPRESSION = 'the white vehicle parked on the left of the road'
# metainfo the text transforms of a pipeline set and the data preprocessor reads
TEXT_META_KEYS = ('key_phrase_spans', 'object_spans', 'position_spans')
COMPONENTS = ('vision', 'text', 'fusion', 'neck', 'heads')
# the component of each sub-module of a backbone that reads text, unless the backbone gives its
# own ``component_map`` (a backbone with two image encoders, say); other sub-modules are fusion
BACKBONE_COMPONENTS = {'vision': 'vision', 'text': 'text', 'fusions': 'fusion'}


def backbone_components(backbone: nn.Module) -> Dict[str, str]:
    """Sub-module name -> component for a backbone that reads text."""
    return getattr(backbone, 'component_map', BACKBONE_COMPONENTS)


def component_of(name: str, model: nn.Module) -> str:
    """The component (one of ``COMPONENTS``) a module or parameter path of the model is in."""
    head, _, rest = name.partition('.')
    if head == 'backbone' and takes_text(model.backbone):
        sub = rest.partition('.')[0]
        return backbone_components(model.backbone).get(sub, 'fusion')
    return {'backbone': 'vision', 'text_encoder': 'text', 'neck': 'neck',
            'decode_head': 'heads', 'auxiliary_head': 'heads'}.get(head, 'heads')


class TracedReferringModel(nn.Module):
    """Image and text tensors in, decode-head logits out: a ``ReferringEncoderDecoder`` in the
    tensor-only form the jit tracer needs.

    Args:
        model (nn.Module): The segmentor.
        text_keys (Sequence[str]): Names of the text tensors, in the order they are passed.
    """

    def __init__(self, model: nn.Module, text_keys: Sequence[str]):
        super().__init__()
        self.model = model
        self.text_keys = tuple(text_keys)

    def forward(self, inputs: Tensor, *text_values: Tensor) -> Tensor:
        text = dict(zip(self.text_keys, text_values))
        x, text_feats = self.model.extract_feat(inputs, text)
        head = self.model.decode_head
        # called, not .forward(): the tracer attributes ops to a module only inside __call__
        if takes_text(head):
            return head(x, text_feats)
        return head(x)


def sdpa_flop_jit(inputs: List, outputs: List) -> int:
    """FLOPs (multiply-adds) of ``aten::scaled_dot_product_attention``: q kᵀ and a v."""
    query, key, value = (inputs[i].type().sizes() for i in range(3))
    batch = 1
    for size in query[:-2]:
        batch *= size
    num_q, dim = query[-2:]
    num_k, dim_v = key[-2], value[-1]
    return batch * num_q * num_k * (dim + dim_v)


def conv_mode_flop_jit(inputs: List, outputs: List) -> int:
    """FLOPs (multiply-adds) of ``aten::_convolution_mode``, the convolution with a string
    padding (``'valid'``, ``'same'``; SigLIP's patch embedding): one per output element and
    weight of its group, as fvcore counts ``aten::_convolution``."""
    out_numel = 1
    for size in outputs[0].type().sizes():
        out_numel *= size
    per_output = 1
    for size in inputs[1].type().sizes()[1:]:
        per_output *= size
    return out_numel * per_output


def text_metainfo(cfg: Config, expression: str) -> dict:
    """What the config's test pipeline derives from the expression (key phrase, FIANet's
    object and position spans...), from a run of the inference pipeline on a blank image.

    Args:
        cfg (Config): The full config.
        expression (str): The expression.

    Returns:
        dict: The ``TEXT_META_KEYS`` the pipeline set, with a lexicon key phrase when it sets
        none (harmless for models that do not read it).
    """
    packed = build_inference_pipeline(cfg)(dict(img=np.zeros((64, 64, 3), np.uint8),
                                                expression=expression))
    meta = packed['data_samples'].metainfo
    info = {key: meta[key] for key in TEXT_META_KEYS if key in meta}
    if 'key_phrase_spans' not in info:
        info['key_phrase_spans'] = KeyPhraseMasker(backend='lexicon')(
            dict(expression=expression))['key_phrase_spans']
    return info


def build_inputs(model: nn.Module, expression: str, shape: Tuple[int, int],
                 metainfo: dict) -> Tuple[Tensor, Dict[str, Tensor]]:
    """One preprocessed image and expression, as the model's data preprocessor makes them."""
    height, width = shape
    gen = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=gen)
    sample = SegDataSample(metainfo=dict(
        metainfo, expression=expression, img_shape=(height, width),
        ori_shape=(height, width), pad_shape=(height, width)))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), training=False)
    text = data['data_samples'][0].text
    return data['inputs'], {key: text.get(key)[None] for key in text.keys()}


def analyse(cfg: Config, shape: Tuple[int, int] = None, expression: str = EXPRESSION,
            dtype: torch.dtype = torch.float32) -> dict:
    """Builds the config's model offline and counts its parameters and FLOPs.

    Args:
        cfg (Config): The full config.
        shape (tuple[int, int], optional): Input (H, W). Defaults to the preprocessor's size.
        expression (str): The expression traced. Defaults to ``EXPRESSION``.
        dtype (torch.dtype): Dtype of the weights and the image the model is built and traced
            in. The counts do not depend on it; ``torch.bfloat16`` halves the memory of the
            weights and activations (for billion-parameter models). Defaults to
            ``torch.float32``.

    Returns:
        dict: ``shape``, ``params`` and ``flops`` (component -> count, plus ``'total'``), and
        ``unsupported`` (operator -> number of calls counted as zero).
    """
    model_cfg = offline_model_cfg(copy.deepcopy(cfg.model))
    preprocessor = model_cfg.data_preprocessor
    if shape is None:
        size = preprocessor.get('size') or cfg.get('crop_size')
        if size is None:
            raise ValueError(f'{cfg.filename}: no data_preprocessor.size or crop_size; give '
                             '--shape H W')
        shape = tuple(size)
    with tempfile.TemporaryDirectory() as vocab_dir:
        preprocessor.tokenizer = build_vocab([expression], vocab_dir, 100)
        default_dtype = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            model = MODELS.build(model_cfg)
            model.init_weights()
        finally:
            torch.set_default_dtype(default_dtype)
        model.eval()
        inputs, text = build_inputs(model, expression, shape, text_metainfo(cfg, expression))
        inputs = inputs.to(dtype)
    traced = TracedReferringModel(model, list(text))
    with torch.no_grad():
        analyzer = FlopAnalyzer(traced, (inputs, *text.values()))
        analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
        analyzer.set_op_handle('aten::_convolution_mode', conv_mode_flop_jit)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        analyzer.tracer_warnings('none')
        by_module = analyzer.by_module()
        unsupported = dict(analyzer.unsupported_ops())

    def count(path: str) -> int:
        return by_module.get(f'model.{path}', 0)

    flops = OrderedDict()
    if takes_text(model.backbone):
        flops['vision'] = flops['text'] = 0
        for sub, component in backbone_components(model.backbone).items():
            if component in ('vision', 'text'):
                flops[component] += count(f'backbone.{sub}')
        # the fusions and whatever the extractor computes between the stages
        flops['fusion'] = count('backbone') - flops['vision'] - flops['text']
    else:
        flops['vision'], flops['text'] = count('backbone'), count('text_encoder')
        flops['fusion'] = 0
    flops['neck'] = count('neck')
    flops['heads'] = count('decode_head') + count('auxiliary_head')
    params = OrderedDict((key, 0) for key in COMPONENTS)
    for name, param in model.named_parameters():
        params[component_of(name, model)] += param.numel()
    flops['total'] = by_module['']
    params['total'] = sum(p.numel() for p in model.parameters())
    return dict(shape=shape, params=params, flops=flops, unsupported=unsupported)
