"""The `moda` command: thin Typer commands over the library API.

Printing and progress live here only. ``root`` holds the app, its error reporting and
the options the commands share; each command module registers its commands on that app
when imported: ``render`` (and dubbing), ``batch``, ``tools`` (presets, doctor),
``train`` (train, eval) and ``qc``. They are imported in the order ``--help`` lists them.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys

import typer

from ..errors import INTERNAL_ERROR
from . import root
from .root import app

_COMMANDS = ("render", "batch", "tools", "train", "qc")  # --help lists them in this order
for _name in _COMMANDS:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["app", "main", "rebuild"]


def rebuild() -> typer.Typer:
    """The CLI built again, so that Typer reads the registries' current names (a plugin's
    or a test's late registration): ``root`` first (a new app and new choice Literals),
    then every command module, which registers its commands on the new app."""
    global app
    importlib.reload(root)
    for name in _COMMANDS:
        importlib.reload(sys.modules[f"{__name__}.{name}"])
    app = root.app
    return app


def main() -> None:
    """The console entry point.

    The exit status goes straight to the OS once every exit handler has run: tearing
    down the interpreter with torch and MediaPipe loaded takes another 0.5 s, for nothing.
    """
    atexit.register(_exit_now)  # registered first, so it runs after every other handler
    try:
        app()
    except SystemExit as exc:
        _exit_status[0] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    except KeyboardInterrupt:
        _exit_status[0] = 130
        raise
    except BaseException:  # escaped every command's handler: never report success
        _exit_status[0] = INTERNAL_ERROR
        raise


_exit_status = [0]


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[0])
