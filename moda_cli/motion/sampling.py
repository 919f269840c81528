"""Rectified-flow sampling: the time grid and the velocity fields the solvers integrate.

Convention (as MoDA): x at t = 0 is Gaussian noise, x at t = 1 is data, and the model
predicts the velocity dx/dt = data - noise along the straight path between them. The
solvers themselves, pure functions by name, are in ``solvers.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .solvers import get_solver  # noqa: F401  (generate.py and tests find it here)

VelocityFn = Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor]
StepCallback = Callable[[int, int, torch.Tensor], None]


def time_grid(steps: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(steps + 1,) uniformly spaced times from 0 (noise) to 1 (data)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return torch.linspace(0.0, 1.0, steps + 1, device=device)


def guided_velocity(model: torch.nn.Module, scale: float) -> VelocityFn:
    """Classifier-free guidance ``uncond + scale * (cond - uncond)`` as a velocity_fn.

    The conditional and unconditional halves run as ONE batched forward (2B rows).
    ``cond`` must provide ``unconditional()`` and a static ``cat`` (``MotionCond`` does);
    scale 1 gives exactly the conditional velocity, so it skips the unconditional half.
    """

    def velocity(x: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
        if scale == 1.0:
            return model(x, t, cond=cond)
        both = type(cond).cat([cond, cond.unconditional()])
        v = model(torch.cat([x, x]), torch.cat([t, t]), cond=both)  # (2B, W, D)
        v_cond, v_uncond = v.chunk(2)
        return v_uncond + scale * (v_cond - v_uncond)

    return velocity


def inpainting_velocity(
    velocity_fn: VelocityFn, noise: torch.Tensor, given: torch.Tensor, mask: torch.Tensor
) -> VelocityFn:
    """Flow-matching inpainting as a velocity_fn: ``mask``ed entries are given, not sampled.

    noise, given: (B, W, D) the start of the solve and the given data (only ``mask``ed
    entries are read); mask: bool, broadcastable to (B, W, D).

    A given entry's straight path is x_t = (1 - t) * noise + t * given; its velocity is the
    constant ``given - noise``. That is the velocity returned there, and the state handed to
    ``velocity_fn`` has its given entries replaced by their path value at t. Every explicit
    solver (Euler, Heun, any Runge-Kutta) moves the state by weighted sums of velocities
    whose weights add up to the step, so its states keep the given entries on the path at
    every step and end on ``given`` at t = 1 (to float rounding): the replacement method of
    inpainting, with no solver knowing of it. The model sees the given entries where
    training put them, so the sampled entries are drawn coherent with them.
    """
    drift = given - noise

    def velocity(x: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
        on_path = noise + t.to(x.dtype)[:, None, None] * drift  # (B, W, D)
        return torch.where(mask, drift, velocity_fn(torch.where(mask, on_path, x), t, cond))

    return velocity
