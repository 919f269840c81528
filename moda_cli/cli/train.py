"""`moda train` and `moda eval`: the motion model trained, and measured on held-out cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from rich.markup import escape

from ..choices import EvalSuite
from ..motion.generators import GENERATORS
from .root import CheckpointOpt, DeviceOpt, SetOpt, _job_bar, _reports_errors, app, err, out


@app.command()
@_reports_errors
def train(
    data: Annotated[
        Path,
        typer.Option("--data", help="Dataset folder (built here unless it holds this recipe)."),
    ] = Path("moda-data"),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Checkpoint to write (.safetensors).")
    ] = Path("motion.safetensors"),
    clips: Annotated[
        int, typer.Option("--clips", min=1, help="Synthetic training clips (about 12 s each).")
    ] = 1000,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimizer steps.")] = 3000,
    minutes: Annotated[
        float | None,
        typer.Option("--minutes", help="Stop by wall time too (the LR schedule follows)."),
    ] = None,
    from_videos: Annotated[
        Path | None,
        typer.Option("--from-videos", help="Train on your own talking-head videos instead."),
    ] = None,
    real_speech: Annotated[
        Path | None,
        typer.Option(
            "--real-speech",
            help="Folder of the Debian voice-prompt packages to mix in (README: 'Real speech').",
        ),
    ] = None,
    real_fraction: Annotated[
        float,
        typer.Option(
            "--real-fraction", min=0.0, max=1.0, help="Share of training clips from --real-speech."
        ),
    ] = 0.3,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="apt-get download the packages --real-speech lacks.")
    ] = False,
    flite_fraction: Annotated[
        float,
        typer.Option(
            "--flite-fraction",
            min=0.0,
            max=1.0,
            help="Share of training clips spoken by flite voices (flite from --real-speech "
            "or PATH).",
        ),
    ] = 0.0,
    voice_perturb: Annotated[
        float,
        typer.Option(
            "--voice-perturb",
            min=0.0,
            max=1.0,
            help="Share of training clips with formants, pitch and rate perturbed.",
        ),
    ] = 0.0,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="CPU threads for training (default: torch's)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    device: DeviceOpt = "auto",
) -> None:
    """Build the training data (espeak-ng speech + viseme targets, or your videos) and train
    the motion model."""
    from ..motion.train.trainer import TrainConfig, train_model
    from ..pipeline import resolve_device

    dev = resolve_device(device)
    with _job_bar(out.is_terminal) as bar:
        summary: Any
        if from_videos is not None:
            from ..motion.train.from_videos import build_from_videos

            summary = build_from_videos(
                from_videos, data, progress=lambda d, t: bar.update("data", d, t)
            )
        else:
            from ..motion.train.dataset import DataRecipe, build_dataset
            from ..motion.train.perturb import VoicePerturbConfig

            recipe = DataRecipe(
                num_clips=clips,
                seed=seed,
                flite_fraction=flite_fraction,
                real_fraction=real_fraction if real_speech is not None else 0.0,
                voice=VoicePerturbConfig(p=voice_perturb),
            )
            summary = build_dataset(
                recipe,
                data,
                progress=lambda d, t: bar.update("data", d, t),
                real_speech=real_speech,
                fetch=fetch,
            )
        reused = ", reused" if summary.reused else ""
        out.print(
            f"data: {summary.clips} clips, {summary.hours} hours, in {summary.out_dir} "
            f"(recipe {summary.recipe_hash}{reused})",
            highlight=False,
            markup=False,
        )
        for name, reason in getattr(summary, "skipped", []):
            err.print(f"[yellow]skipped[/] {escape(f'{name}: {reason}')}", highlight=False)
        cfg = TrainConfig(steps=steps, max_minutes=minutes, seed=seed, threads=threads)
        result = train_model(
            data, cfg, output, device=dev, progress=lambda s, t, info: bar.update("train", s, t)
        )
    out.print(
        f"{result.checkpoint}: {result.steps} steps in {result.seconds:.0f}s, "
        f"{result.num_params / 1e6:.2f} M parameters, train loss {result.train_loss:.4f}, "
        f"held-out loss {result.val_loss:.4f}",
        highlight=False,
        markup=False,
    )


@app.command("eval")
@_reports_errors
def eval_(
    data: Annotated[
        Path,
        typer.Option("--data", help="Dataset folder with a held-out split (see `moda train`)."),
    ] = Path("moda-data"),
    portrait: Annotated[
        Path, typer.Option("--portrait", help="Portrait to render the cases on.")
    ] = Path("samples/astronaut.png"),
    clips: Annotated[int, typer.Option("--clips", min=1, help="Held-out clips to render.")] = 12,
    motion_checkpoint: CheckpointOpt = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores as JSON here.")
    ] = None,
    overrides: SetOpt = None,
    learned_only: Annotated[
        bool, typer.Option("--learned-only", help="Skip the baseline (to compare settings).")
    ] = False,
    # Checked below, not by Typer, to word the error as "choose espeak, real or both".
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            metavar="|".join(get_args(EvalSuite)),
            help="espeak (held-out synthetic clips of --data), real (held-out recordings in "
            "--real-speech) or both.",
        ),
    ] = "espeak",
    real_speech: Annotated[
        Path | None,
        typer.Option(
            "--real-speech",
            help="Folder of the Debian voice-prompt packages, .deb or unpacked "
            "(README: 'Real speech').",
        ),
    ] = None,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="apt-get download the packages --real-speech lacks.")
    ] = False,
    real_clips: Annotated[
        int,
        typer.Option(
            "--real-clips",
            min=1,
            help="Recorded clips (about 10 s) per group: English, other languages.",
        ),
    ] = 6,
) -> None:
    """Render held-out cases with the learned model and the baseline; measure the frames.

    --set applies on top of every preset the evaluation uses (e.g. --set motion.steps=5).
    """
    from dataclasses import asdict

    from ..errors import UsageError
    from ..motion.generators import GeneratorSetup

    if suite not in get_args(EvalSuite):
        raise UsageError(f"--suite {suite!r}: choose {_either(get_args(EvalSuite))}")
    if suite != "espeak" and real_speech is None:
        raise UsageError(
            f"--suite {suite} needs --real-speech FOLDER (the Debian voice-prompt packages)"
        )
    setup = GeneratorSetup(motion_checkpoint, "cpu")
    names = ("learned",) if learned_only else ("baseline", "learned")
    generators = {name: GENERATORS.get(name)(setup) for name in names}
    report: dict[str, Any] = {}
    with _job_bar(out.is_terminal) as bar:
        if suite != "real":
            from ..evaluation import evaluate, markdown_table

            results = evaluate(
                generators,
                data,
                portrait,
                clips,
                progress=lambda text: bar.update(text, 0, 0),
                overrides=overrides or (),
            )
            out.print(markdown_table(results), highlight=False, markup=False)
            report["espeak"] = {k: asdict(v) for k, v in results.items()}
        if real_speech is not None and suite != "espeak":
            from .. import evaluation_real

            real = evaluation_real.evaluate_real(
                generators,
                real_speech,
                portrait,
                real_clips,
                fetch,
                progress=lambda text: bar.update(text, 0, 0),
                overrides=overrides or (),
            )
            out.print(evaluation_real.markdown_table(real), highlight=False, markup=False)
            report["real"] = {k: asdict(v) for k, v in real.items()}
    if json_path is not None:
        json_path.write_text(
            json.dumps(report if suite != "espeak" else report["espeak"], indent=2)
        )


def _either(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}"
