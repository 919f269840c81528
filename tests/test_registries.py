"""Extension points: a solver or an output format is ONE registration, and then it is a
valid preset value, listed in the preset schema and in `moda render --help`, and used."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _media import FAST, speechlike, write_wav
from typer.testing import CliRunner

import moda_cli.cli
from moda_cli.errors import UsageError
from moda_cli.face.detectors import DETECTORS, Detector
from moda_cli.face.identity import IDENTITY_DIM
from moda_cli.ffmpeg import probe, read_frames, verify_video
from moda_cli.motion.generators import GENERATORS, Generator
from moda_cli.motion.sampling import get_solver, time_grid
from moda_cli.motion.solvers import SOLVERS, Solver, sample_euler
from moda_cli.pipeline import Job, check_job
from moda_cli.presets import Preset, load_preset
from moda_cli.registry import Registry
from moda_cli.video.formats import OUTPUT_FORMATS, VideoFormat
from moda_cli.video.settings import VideoSettings
from moda_cli.video.writer import VideoWriter


def sample_midpoint(velocity_fn, x, ts, cond, callback=None):
    """Explicit midpoint: a half step, then the whole step with the velocity there."""
    n = len(ts) - 1
    for i in range(n):
        dt = ts[i + 1] - ts[i]
        t0 = ts[i].expand(x.shape[0]).to(x.dtype)
        half = x + 0.5 * dt * velocity_fn(x, t0, cond)
        x = x + dt * velocity_fn(half, t0 + 0.5 * dt, cond)
        if callback is not None:
            callback(i, n, x)
    return x


@dataclass(frozen=True)
class LosslessMkv:
    """FFV1 video and FLAC sound in Matroska: every decoded pixel as the writer sent it."""

    extension: str = ".mkv"

    def output_args(self, settings: VideoSettings, size: tuple[int, int], audio: bool) -> list[str]:
        return ["-c:v", "ffv1", *(["-c:a", "flac"] if audio else []), "-f", "matroska"]

    def verify(self, path: Path, *, frames: int, audio: bool, name: Path) -> None:
        verify_video(path, frames=frames, audio=audio, name=name)


@pytest.fixture
def toys() -> Iterator[Any]:
    """midpoint and mkv registered, and the CLI rebuilt with them; both gone afterwards."""
    SOLVERS.register("midpoint", sample_midpoint)
    OUTPUT_FORMATS.register("mkv", LosslessMkv())
    try:
        moda_cli.cli.rebuild()
        yield moda_cli.cli
    finally:
        SOLVERS.unregister("midpoint")
        OUTPUT_FORMATS.unregister("mkv")
        moda_cli.cli.rebuild()


def _help(cli: Any, command: str) -> str:
    result = CliRunner().invoke(cli.app, [command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    return result.output


def test_a_registration_shows_in_help_and_schema_and_validates(toys):
    text = _help(toys, "render")
    assert "euler|heun|midpoint" in text and "mp4|mkv" in text
    schema = Preset.model_json_schema()["$defs"]
    assert schema["MotionSettings"]["properties"]["solver"]["enum"] == ["euler", "heun", "midpoint"]
    assert schema["VideoSettings"]["properties"]["format"]["enum"] == ["mp4", "mkv"]
    preset = load_preset("natural", ["motion.solver=midpoint", "video.format=mkv"])
    assert (preset.motion.solver, preset.video.format) == ("midpoint", "mkv")


def test_without_the_registration_the_name_is_refused():
    assert "midpoint" not in SOLVERS and "mkv" not in OUTPUT_FORMATS
    for override in ("motion.solver=midpoint", "video.format=mkv"):
        with pytest.raises(Exception, match="one of"):
            load_preset("natural", [override])
    assert "midpoint" not in _help(moda_cli.cli, "render")


@pytest.mark.parametrize(
    ("registry", "names", "alias"),
    [
        (SOLVERS, ("euler", "heun"), Solver),
        (OUTPUT_FORMATS, ("mp4",), VideoFormat),
        (DETECTORS, ("mediapipe", "insightface"), Detector),
        (GENERATORS, ("learned", "baseline"), Generator),
    ],
)
def test_the_built_in_names_come_from_one_registry_each(registry: Registry, names, alias):
    assert registry.names() == names
    assert alias.__metadata__ == (registry,)  # the option types read the same registry


def test_the_toy_solver_samples_at_second_order(toys):
    """dx/dt = -x from x0 = 1: exact e^-1. Midpoint, like Heun, is second order: halving the
    step quarters its error, and it beats Euler by far."""
    solver = get_solver("midpoint")
    x0 = torch.ones(1, 3, dtype=torch.float64)
    exact = math.exp(-1.0)

    def error(fn, steps: int) -> float:
        out = fn(lambda x, t, c: -x, x0, time_grid(steps).double(), None)
        return float((out - exact).abs().max())

    assert error(solver, 10) < error(sample_euler, 10) / 10
    assert 3.5 < error(solver, 10) / error(solver, 20) < 4.5


def test_the_toy_solver_drives_the_learned_generator(toys):
    from moda_cli.audio.features import compute_features
    from moda_cli.audio.types import Audio
    from moda_cli.motion.generate import LearnedGenerator
    from moda_cli.motion.generator import MotionRequest

    features = compute_features(Audio(speechlike(1.5), Path("s.wav"), 16_000), 25.0)
    generator = LearnedGenerator(None, "cpu")
    motion = {}
    for solver in ("euler", "midpoint"):
        settings = load_preset("natural", [f"motion.solver={solver}"]).motion
        request = MotionRequest(features, np.zeros(IDENTITY_DIM, np.float32), settings, seed=1)
        motion[solver] = generator.generate(request).params
    assert motion["midpoint"].shape == motion["euler"].shape
    assert np.isfinite(motion["midpoint"]).all()
    assert not np.array_equal(motion["midpoint"], motion["euler"])


def test_the_toy_format_writes_and_checks_its_own_files(toys, tmp_path):
    speech = write_wav(tmp_path / "s.wav", speechlike(1.0))
    frames = [np.full((64, 96, 3), (40 * i, 100, 200 - 40 * i), np.uint8) for i in range(5)]
    out = tmp_path / "clip.mkv"
    with VideoWriter(out, settings=VideoSettings(format="mkv"), audio=speech) as writer:
        for frame in frames:
            writer.write(frame)
    info = probe(out)
    assert (info.video_codec, info.audio_codec) == ("ffv1", "flac")
    back = list(read_frames(out))
    assert len(back) == len(frames)
    # yuv420p of flat colours round-trips within the conversion's rounding
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(back, frames, strict=True)) <= 2

    preset = load_preset("natural", ["video.format=mkv"])
    portrait = tmp_path / "p.png"
    portrait.write_bytes(b"not checked here")
    check_job(Job(portrait, speech, tmp_path / "ok.mkv", preset))
    with pytest.raises(UsageError, match=r"\.mkv"):
        check_job(Job(portrait, speech, tmp_path / "wrong.mp4", preset))


def test_render_writes_the_toy_format_from_the_command_line(toys, tmp_path, small_portrait):
    speech = write_wav(tmp_path / "s.wav", speechlike(0.8))
    out = tmp_path / "clip.mkv"
    args = [
        "render",
        small_portrait,
        speech,
        "-o",
        out,
        "--format",
        "mkv",
        "-q",
        *FAST,
    ]
    result = CliRunner().invoke(toys.app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert probe(out).video_codec == "ffv1"
    assert not list(tmp_path.glob(".*moda-tmp*"))


def test_batch_names_and_checks_its_outputs_by_the_toy_format(toys, tmp_path, small_portrait):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "anna.png").write_bytes(Path(small_portrait).read_bytes())
    write_wav(src / "anna__hi.wav", speechlike(0.8))
    args = ["batch", src, "-o", out, "-q", "--set", "video.format=mkv", *FAST]
    result = CliRunner().invoke(toys.app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    video = out / "anna__anna__hi.mkv"  # the default template, {ext} from video.format
    assert probe(video).video_codec == "ffv1" and len(list(read_frames(video))) == 20
    assert not list(out.glob("*.mp4")) and not list(out.glob(".*moda-tmp*"))
    report = json.loads((out / "report.json").read_text())
    assert [(j["status"], j["output"]) for j in report["jobs"]] == [("done", str(video))]
