"""Poly decay over every step of its span, as ``LambdaLR(lambda t: (1 - t / T) ** power)``."""
from mmengine.optim.scheduler import PolyLR

from mmrrsis.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class LambdaPolyLR(PolyLR):
    """mmengine's :class:`PolyLR` with the polynomial spread over all ``T = end - begin`` steps.

    At step t (0 ≤ t < T) the learning rate is
    ``(lr_0 - eta_min) * (1 - t / T) ** power + eta_min``, the ``LambdaLR`` poly schedule of the
    torchvision segmentation references and of the LAVT lineage's training scripts: the last
    step keeps ``(1 / T) ** power`` of the range. mmengine's ``PolyLR`` divides by ``T - 1``
    instead and reaches ``eta_min`` at the last step. Arguments are those of :class:`PolyLR`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # PolyLR's chained factors (1 - 1 / (total_iters - s + 1)), s = 1..t, multiply to
        # (total_iters - t) / total_iters: with total_iters = T that is 1 - t / T
        self.total_iters = self.end - self.begin
