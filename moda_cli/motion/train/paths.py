"""The rectified-flow training path (training only; inference never imports this).

x_t = (1 - t) x0 + t x1 with x0 ~ N(0, I) noise at t = 0 and x1 data at t = 1; the
velocity along the straight line is x1 - x0, constant in t. Times are drawn from a
logit-normal (SD3), which spends more samples mid-path where the velocity is hardest.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PathSample:
    x_t: torch.Tensor  # (B, ...) point on the path
    t: torch.Tensor  # (B,) time in (0, 1)
    velocity: torch.Tensor  # (B, ...) regression target dx/dt


def sample_time(
    n: int, generator: torch.Generator | None = None, mean: float = 0.0, std: float = 1.0
) -> torch.Tensor:
    """(n,) logit-normal times: sigmoid(N(mean, std))."""
    return torch.sigmoid(mean + std * torch.randn(n, generator=generator))


def rectified_flow_path(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> PathSample:
    """The point at time t (B,) on the straight path from noise x0 to data x1, and its velocity."""
    tt = t.view(-1, *([1] * (x1.ndim - 1))).to(x1.dtype)  # (B, 1, ...)
    return PathSample(x_t=(1.0 - tt) * x0 + tt * x1, t=t, velocity=x1 - x0)
