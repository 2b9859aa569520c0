"""LoRA adapters on named sub-modules, through ``peft``, and their merge for export."""
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
from torch import nn

# The state-dict fragments that peft's LoRA layers add to a wrapped module's names.
BASE_LAYER = '.base_layer.'
LORA_PARTS = ('.lora_A.', '.lora_B.', '.lora_embedding_A.', '.lora_embedding_B.',
              '.lora_magnitude_vector.')


def add_lora(module: nn.Module,
             target: Union[str, Sequence[str]],
             r: int = 16,
             alpha: Optional[float] = None,
             dropout: float = 0.0,
             where: str = '') -> List[str]:
    """Wraps the sub-modules of ``module`` whose names match ``target`` in LoRA layers.

    Uses ``peft.inject_adapter_in_model``, so the names keep no ``base_model.model.`` prefix:
    a wrapped ``x`` holds ``x.base_layer`` and ``x.lora_A.default`` / ``x.lora_B.default``
    (A Kaiming-uniform, B zero, so the output is unchanged at first). As peft does, every
    parameter of ``module`` but the LoRA ones is frozen (``requires_grad=False``).

    Args:
        module (nn.Module): The module to adapt, in place.
        target (str | Sequence[str]): A regular expression that must match a sub-module's
            whole name (relative to ``module``), or a list of such names' suffixes.
        r (int): Rank. Defaults to 16.
        alpha (float, optional): Scale numerator, the update is ``alpha / r * B A x``.
            Defaults to None (= r).
        dropout (float): Dropout on the LoRA branch's input. Defaults to 0.
        where (str): The owner, for error messages. Defaults to ''.

    Returns:
        list[str]: Names of the wrapped sub-modules.
    """
    from peft import LoraConfig, inject_adapter_in_model
    target_modules = target if isinstance(target, str) else list(target)
    if isinstance(target_modules, str):
        names = [n for n, _ in module.named_modules() if n and re.fullmatch(target_modules, n)]
    else:
        names = [n for n, _ in module.named_modules()
                 if n and any(n == t or n.endswith('.' + t) for t in target_modules)]
    if not names:
        raise ValueError(f'{where or type(module).__name__}: the LoRA target {target!r} matches '
                         'no sub-module')
    config = LoraConfig(r=r, lora_alpha=r if alpha is None else alpha, lora_dropout=dropout,
                        bias='none', target_modules=target_modules)
    inject_adapter_in_model(config, module)
    return names


def lora_layers(module: nn.Module) -> Dict[str, nn.Module]:
    """The peft LoRA layers inside ``module``, by name."""
    from peft.tuners.lora import LoraLayer
    return {n: m for n, m in module.named_modules() if isinstance(m, LoraLayer)}


@torch.no_grad()
def merge_lora(module: nn.Module) -> nn.Module:
    """Folds every LoRA layer of ``module`` into its base layer (W <- W + alpha/r B A) and puts
    the base layer back in its place, so the names are those before :func:`add_lora`.

    Args:
        module (nn.Module): Changed in place.

    Returns:
        nn.Module: ``module``.
    """
    for name, layer in lora_layers(module).items():
        layer.merge()
        parent_name, _, child = name.rpartition('.')
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, child, layer.get_base_layer())
    return module


def is_lora_key(key: str) -> bool:
    """Whether a state-dict key is a LoRA adapter weight."""
    return any(part in key for part in LORA_PARTS)


def base_key(key: str) -> str:
    """The key a wrapped layer's base weight had before LoRA (``.base_layer.`` removed)."""
    return key.replace(BASE_LAYER, '.')


def load_base_weights(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                      where: str) -> None:
    """Loads plain (LoRA-free) weights into ``module``, whose layers may be LoRA-wrapped.

    Each key of ``module`` is looked up with ``.base_layer.`` removed; the adapters keep their
    values. Every other key must match exactly.

    Args:
        module (nn.Module): The possibly LoRA-wrapped module.
        state_dict (Mapping[str, Tensor]): Weights named as in the module without LoRA.
        where (str): Where the weights come from, for the error.

    Raises:
        KeyError: Naming the missing and the unexpected keys.
    """
    own = {k: v for k, v in module.state_dict().items() if not is_lora_key(k)}
    wanted = {base_key(k): k for k in own}
    missing = sorted(set(wanted) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(wanted))
    if missing or unexpected:
        raise KeyError(f'{where} does not fit {type(module).__name__}: missing {missing[:20]}'
                       f'{" ..." if len(missing) > 20 else ""}, unexpected {unexpected[:20]}'
                       f'{" ..." if len(unexpected) > 20 else ""}')
    renamed = {wanted[k]: v for k, v in state_dict.items()}
    module.load_state_dict(renamed, strict=False)
