"""Building ``transformers`` models from config dicts and loading their released weights."""
from typing import Optional

from torch import nn

from .lora import add_lora


def hf_config(config_cls: str, config: dict, where: str):
    """``transformers.<config_cls>(**config)``, with an error naming the owner.

    Args:
        config_cls (str): Name of a ``transformers`` config class (``'SiglipVisionConfig'``).
        config (dict): Its arguments; nested configs as dicts.
        where (str): The owner, for the error.
    """
    import transformers
    try:
        return getattr(transformers, config_cls)(**_plain(config))
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f'{where}: {config_cls}(**{config}) fails: {error}') from error


def _plain(node):
    """Plain dicts and lists of a (possibly mmengine ``ConfigDict``) tree."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def build_sam2_config(config: dict, where: str):
    """``transformers.Sam2Config`` from a dict; the Hiera backbone's ``model_type`` is filled
    in when its dict lacks one (``Sam2VisionConfig`` needs it to pick the class)."""
    config = _plain(config)
    vision = config.setdefault('vision_config', {})
    if isinstance(vision, dict) and isinstance(vision.get('backbone_config'), dict):
        vision['backbone_config'] = dict(vision['backbone_config'])
        vision['backbone_config'].setdefault('model_type', 'sam2_hiera_det_model')
    return hf_config('Sam2Config', config, where)


def adapt(model: nn.Module, lora: Optional[dict], frozen: bool, with_cp: bool,
          where: str) -> None:
    """Freezes ``model`` (``frozen``), adds LoRA adapters (``lora``: :func:`add_lora` arguments;
    they are trainable) and turns on activation checkpointing (``with_cp``; only for a
    ``transformers`` model with ``gradient_checkpointing_enable``). Not ``frozen``, the model's
    own weights stay trainable next to the adapters (peft's injection freezes them)."""
    if frozen:
        model.requires_grad_(False)
    trainable = [param for param in model.parameters() if param.requires_grad]
    if lora is not None:
        add_lora(model, where=where, **lora)
        for param in trainable:
            param.requires_grad_(True)
    if with_cp:
        # use_reentrant=False: the frozen inputs of a block need no grad for its backward
        model.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs=dict(use_reentrant=False))
