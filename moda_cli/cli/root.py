"""The root of the `moda` command: the Typer app, its callback and shared state, the one
place that turns errors into a line and an exit code, and what several commands share.

Errors from the library are turned into one line and an exit code in one place
(``_reports_errors``): 0 success, 1 a job failed (an output that cannot be written
included), 2 usage or configuration error, 130 interrupted, 70 an internal error (a bug:
the traceback with --debug). Choices and bounds live in the option types (``choices.py``
and the registries' names), so Typer checks them and ``--help`` lists them; the root
options reach the commands through the context (``ctx.obj``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import click
import typer
from rich.console import Console
from rich.markup import escape

from ..batch.executors import EXECUTORS
from ..choices import Device
from ..errors import INTERNAL_ERROR, ModaError, output_error
from ..face.detectors import DETECTORS, Detector
from ..motion.generators import GENERATORS
from ..motion.solvers import SOLVERS
from ..video.formats import OUTPUT_FORMATS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Talking-head videos from portraits and speech.",
)
presets_app = typer.Typer(no_args_is_help=True, help="List and show motion presets.")
app.add_typer(presets_app, name="presets")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """What the root options decide for every command: Typer's ``ctx.obj``."""

    debug: bool = False


def _reports_errors(fn: F) -> F:
    """Turn ``fn``'s errors into one line and an exit code.

    The wrapper takes Typer's context as ``ctx`` (added to the signature Typer reads), so
    the commands need not declare it to honour --debug.
    """

    @functools.wraps(fn)
    def wrapper(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
        debug = ctx.ensure_object(CliState).debug
        # SIGTERM stops like Ctrl-C: writers delete their temporary files on the way out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            return fn(*args, **kwargs)
        except ModaError as exc:
            raise _fail(exc, exc.exit_code, debug) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: no partial output was left behind")
            raise typer.Exit(130) from None
        except (
            typer.Exit,
            typer.Abort,
            click.exceptions.Exit,
            click.ClickException,
            click.exceptions.Abort,
        ):
            raise  # the commands' own exits, and usage errors
        except OSError as exc:  # the disk or the system, not moda: a job that failed
            raise _fail(output_error(exc, exc.filename or "moda", "failed"), 1, debug) from None
        except Exception as exc:
            raise _fail(exc, INTERNAL_ERROR, debug) from None

    signature = inspect.signature(fn, eval_str=True)
    ctx = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[ctx, *signature.parameters.values()]
    )
    return cast(F, wrapper)


def _fail(exc: BaseException, code: int, debug: bool) -> typer.Exit:
    """Print one line for ``exc`` (its traceback too with --debug); the exit to raise."""
    if debug:
        err.print_exception()
    if code == INTERNAL_ERROR:
        cause = escape(f"{type(exc).__name__}: {str(exc)[:300]}")
        line = f"[bold red]internal error:[/] {cause} (a bug in moda; --debug shows the traceback)"
    else:
        line = f"[bold red]error:[/] {escape(str(exc))}"
    err.print(line, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    ctx.obj = CliState(debug=debug)


# Help panels: `--help` groups the options of `render` and `batch` under these.
INPUTS, MOTION, RENDER, MODELS = "Inputs", "Motion", "Render", "Models"
OUTPUT, BATCH, DUB = "Output", "Batch", "Dubbing a video"

# The names registered when this module loads, as Literals that Typer checks and lists
# in --help: a CLI built after a late registration (a plugin, a test's toy) has it too.
if TYPE_CHECKING:
    DetectorName = str
    GeneratorName = str
    SolverName = str
    FormatName = str
    ExecutorName = str
else:
    DetectorName, GeneratorName, SolverName, FormatName, ExecutorName = (
        r.literal() for r in (DETECTORS, GENERATORS, SOLVERS, OUTPUT_FORMATS, EXECUTORS)
    )

# Options shared by `render` and `batch`.
PresetOpt = Annotated[
    str,
    typer.Option(
        "--preset",
        "-p",
        rich_help_panel=RENDER,
        help="Preset name (see `moda presets list`) or a YAML file.",
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", rich_help_panel=MOTION, help="Random seed (default: the preset's, 42)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        rich_help_panel=RENDER,
        help="Override a preset key, e.g. --set motion.head=0.5 (repeatable).",
    ),
]
DeviceOpt = Annotated[
    Device, typer.Option("--device", rich_help_panel=MODELS, help="Where the models run.")
]
DetectorOpt = Annotated[
    DetectorName,
    typer.Option(
        "--detector",
        rich_help_panel=MODELS,
        help="Face detector: mediapipe (bundled) or insightface (local models).",
    ),
]
InsightRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--insightface-root", rich_help_panel=MODELS, help="Folder holding models/buffalo_l/*.onnx."
    ),
]
CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--motion-checkpoint",
        rich_help_panel=MODELS,
        help="Motion model .safetensors (default: the bundled one).",
    ),
]
WhisperOpt = Annotated[
    Path | None,
    typer.Option(
        "--whisper-checkpoint",
        rich_help_panel=MODELS,
        help="Local Whisper .pt file: adds encoder features.",
    ),
]
GeneratorOpt = Annotated[
    GeneratorName | None,
    typer.Option(
        "--generator",
        rich_help_panel=MOTION,
        help="Motion generator (default: the preset's, learned).",
    ),
]
SolverOpt = Annotated[
    SolverName | None,
    typer.Option(
        "--solver",
        rich_help_panel=MOTION,
        help="Flow-matching ODE solver (default: the preset's, euler).",
    ),
]
FormatOpt = Annotated[
    FormatName | None,
    typer.Option(
        "--format",
        rich_help_panel=OUTPUT,
        help="Codecs and container (default: the preset's, mp4); --output ends in its extension.",
    ),
]


def _engine_options(
    device: Device,
    detector: Detector,
    insightface_root: Path | None,
    motion_checkpoint: Path | None,
    whisper_checkpoint: Path | None,
) -> Any:
    from ..pipeline import EngineOptions

    return EngineOptions(device, detector, insightface_root, motion_checkpoint, whisper_checkpoint)


def _overrides(
    overrides: list[str] | None,
    generator: str | None,
    *,
    solver: str | None = None,
    video_format: str | None = None,
) -> list[str]:
    """--set's overrides, then the options that set one preset key each (given ones only)."""
    keys = {"motion.generator": generator, "motion.solver": solver, "video.format": video_format}
    return [*(overrides or []), *(f"{key}={value}" for key, value in keys.items() if value)]


def _native_logs_silenced(quiet: bool) -> contextlib.AbstractContextManager[None]:
    """With -q, MediaPipe's and TensorFlow Lite's C++ log lines go nowhere (see quiet.py)."""
    from ..quiet import native_stderr_silenced

    return native_stderr_silenced() if quiet else contextlib.nullcontext()


def _job_bar(enabled: bool) -> Any:
    from ..progress import JobBar

    return JobBar(enabled=enabled, console=err)
