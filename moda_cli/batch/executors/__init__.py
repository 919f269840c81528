"""Where a batch's jobs run: the executor contract and registry (``base``), and the
built-in executors, registered here by name so that ``--executor`` lists them.

Each factory imports its executor's module when a batch uses it: listing the names
costs nothing, and ``--executor ray`` alone needs Ray installed.
"""

from __future__ import annotations

from .base import (
    EXECUTORS,
    Executor,
    ExecutorContext,
    ExecutorFactory,
    ExecutorName,
    OnDone,
    run_on,
)

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorContext",
    "ExecutorFactory",
    "ExecutorName",
    "OnDone",
    "run_on",
]


@EXECUTORS.decorator("local")
def _local(context: ExecutorContext) -> Executor:
    from .local import LocalExecutor

    return LocalExecutor(context)


@EXECUTORS.decorator("ray")
def _ray(context: ExecutorContext) -> Executor:
    from .ray import RayExecutor

    return RayExecutor(context)
