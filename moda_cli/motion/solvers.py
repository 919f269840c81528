"""The flow-matching ODE solvers by name: pure functions, no state, no UI.

Every solver has the shape ``sample_x(velocity_fn, x, ts, cond, callback=None)``:
``velocity_fn(x, t, cond)`` returns dx/dt with x's shape; ``ts`` is the time grid from
``sampling.time_grid``; ``callback(i, num_steps, x)`` observes progress after step i.
A new solver is one such function registered in ``SOLVERS``: ``motion.solver`` in the
presets and ``moda render --solver`` then accept its name.

Importing this module loads no torch (the solvers only call tensor methods), so the
preset schema reads the names for free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Protocol

from ..registry import Registry

if TYPE_CHECKING:
    import torch

    from .sampling import StepCallback, VelocityFn


class SolverFn(Protocol):
    def __call__(
        self,
        velocity_fn: VelocityFn,
        x: torch.Tensor,
        ts: torch.Tensor,
        cond: Any,
        callback: StepCallback | None = None,
    ) -> torch.Tensor:
        """x at ts[0] -> x at ts[-1] along ``velocity_fn``."""
        ...


SOLVERS: Registry[SolverFn] = Registry("solver")
Solver = Annotated[str, SOLVERS]  # a solver's name, checked against SOLVERS when validated


def _t(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return t.expand(x.shape[0]).to(x.dtype)  # (B,)


@SOLVERS.decorator("euler")
def sample_euler(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    ts: torch.Tensor,
    cond: Any,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Explicit Euler: one velocity evaluation per step (first order)."""
    n = len(ts) - 1
    for i in range(n):
        x = x + (ts[i + 1] - ts[i]) * velocity_fn(x, _t(ts[i], x), cond)
        if callback is not None:
            callback(i, n, x)
    return x


@SOLVERS.decorator("heun")
def sample_heun(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    ts: torch.Tensor,
    cond: Any,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Heun (explicit trapezoid): two evaluations per step (second order)."""
    n = len(ts) - 1
    for i in range(n):
        dt = ts[i + 1] - ts[i]
        v0 = velocity_fn(x, _t(ts[i], x), cond)
        x_pred = x + dt * v0
        v1 = velocity_fn(x_pred, _t(ts[i + 1], x), cond)
        x = x + dt * 0.5 * (v0 + v1)
        if callback is not None:
            callback(i, n, x)
    return x


def get_solver(name: str) -> SolverFn:
    """The solver registered as ``name``; ValueError naming the choices otherwise."""
    try:
        return SOLVERS.get(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
