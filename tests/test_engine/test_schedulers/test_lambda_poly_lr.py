"""LambdaPolyLR steps as LambdaLR(lambda t: (1 - t / T) ** 0.9); mmengine's PolyLR does not."""
import torch
from mmengine.optim.scheduler import PolyLR

from mmrrsis.engine import LambdaPolyLR


def lrs(make, steps):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=5e-5)
    scheduler = make(optimizer)
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return out


def test_matches_the_lambda_lr_poly_schedule():
    total = 30
    ours = lrs(lambda o: LambdaPolyLR(o, power=0.9, eta_min=0.0, begin=0, end=total,
                                      by_epoch=False), total)
    hand = [5e-5 * (1 - t / total)**0.9 for t in range(total)]
    reference = lrs(lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, lambda t: (1 - t / total)**0.9), total)
    for a, b, c in zip(ours, hand, reference):
        assert abs(a - b) <= 1e-12 * 5e-5 and abs(a - c) <= 1e-12 * 5e-5
    assert ours[-1] > 0  # the last step keeps (1 / T)^0.9 of the rate
    mmengine = lrs(lambda o: PolyLR(o, power=0.9, eta_min=0.0, begin=0, end=total,
                                    by_epoch=False), total)
    assert mmengine[-1] == 0 and abs(mmengine[1] - hand[1]) > 1e-8 * 5e-5


def test_epoch_span_is_converted_to_iterations():
    ours = lrs(lambda o: LambdaPolyLR.build_iter_from_epoch(
        o, power=0.9, eta_min=1e-6, begin=0, end=4, by_epoch=True, epoch_length=5), 21)
    for t in range(20):
        assert abs(ours[t] - (1e-6 + (5e-5 - 1e-6) * (1 - t / 20)**0.9)) <= 1e-12 * 5e-5
    assert ours[20] == ours[19]  # past its end the scheduler leaves the rate alone
