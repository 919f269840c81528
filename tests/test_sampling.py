"""Solvers against closed-form velocity fields (flow_matching-style solver tests)."""

import math

import pytest
import torch

from moda_cli.motion.sampling import get_solver, guided_velocity, time_grid
from moda_cli.motion.solvers import sample_euler, sample_heun


def test_time_grid_runs_noise_to_data():
    ts = time_grid(10)
    assert ts.shape == (11,)
    assert ts[0] == 0.0 and ts[-1] == 1.0
    assert torch.all(ts[1:] > ts[:-1])
    with pytest.raises(ValueError, match="steps"):
        time_grid(0)


@pytest.mark.parametrize("solver", [sample_euler, sample_heun])
def test_straight_line_flow_reaches_target_exactly(solver):
    # The rectified-flow velocity towards a known target: x1 = (target - x) / (1 - t) * ... constant
    # along the straight path, v = target - x0, so any first-order solver is exact.
    x0 = torch.randn(3, 80, 17)
    target = torch.randn(3, 80, 17)
    v = target - x0
    out = solver(lambda x, t, c: v, x0, time_grid(7), None)
    torch.testing.assert_close(out, target, atol=1e-5, rtol=0)


def test_linear_ode_matches_exact_solution_and_heun_beats_euler():
    # dx/dt = a x  ->  x(1) = x(0) exp(a)
    a = -1.7
    x0 = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    exact = x0 * math.exp(a)
    field = lambda x, t, c: a * x  # noqa: E731
    errs = {}
    for name in ("euler", "heun"):
        out = get_solver(name)(field, x0, time_grid(10).double(), None)
        errs[name] = (out - exact).abs().max().item()
    assert errs["heun"] < errs["euler"] / 10
    assert errs["heun"] < 5e-3
    # Euler converges at first order: doubling the steps about halves the error
    e20 = (sample_euler(field, x0, time_grid(20).double(), None) - exact).abs().max().item()
    assert 1.6 < errs["euler"] / e20 < 2.4


def test_time_dependent_field_and_callback():
    # dx/dt = 2 t  ->  x(1) = x(0) + 1 ; Heun (trapezoid) is exact for linear-in-t fields
    x0 = torch.zeros(2, 4)
    seen = []
    out = sample_heun(
        lambda x, t, c: 2 * t[:, None].expand_as(x),
        x0,
        time_grid(3),
        None,
        callback=lambda i, n, x: seen.append((i, n)),
    )
    torch.testing.assert_close(out, torch.ones(2, 4))
    assert seen == [(0, 3), (1, 3), (2, 3)]


def test_unknown_solver_names_choices():
    with pytest.raises(ValueError, match="euler"):
        get_solver("rk4")


class _Cond:
    def __init__(self, c):
        self.c = c

    def unconditional(self):
        return _Cond(torch.zeros_like(self.c))

    @staticmethod
    def cat(conds):
        return _Cond(torch.cat([c.c for c in conds]))


class _Model(torch.nn.Module):
    calls = 0

    def forward(self, x, t, *, cond):
        _Model.calls += 1
        return x + cond.c[:, None]


def test_guided_velocity_batches_both_halves_in_one_forward():
    model = _Model()
    x, cond = torch.ones(2, 5, 3), _Cond(torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]))
    _Model.calls = 0
    v = guided_velocity(model, 2.0)(x, torch.zeros(2), cond)
    assert _Model.calls == 1
    uncond, c = x, x + cond.c[:, None]
    torch.testing.assert_close(v, uncond + 2.0 * (c - uncond))
    _Model.calls = 0
    torch.testing.assert_close(guided_velocity(model, 1.0)(x, torch.zeros(2), cond), c)
    assert _Model.calls == 1
