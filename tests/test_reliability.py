"""Failures that must never pass for success: exit codes, full and read-only disks, write
errors at every site, YAML alias bombs, manifest outputs escaping ``-o``, wrong types.

Renders are tiny (128 px, about a second of audio, the baseline generator). The disk
cases mount small tmpfs folders, which needs root; they skip where mounting is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _media import speechlike, write_wav
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.video.ffmpeg import count_video_frames, probe

runner = CliRunner()
FAST = ["--set", "render.size=128", "--generator", "baseline", "--device", "cpu"]


def moda(*args: object, env: dict[str, str] | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def moda_proc(*args: object, setup: str = "") -> subprocess.CompletedProcess[str]:
    """The real entry point (``main`` and its exit hook) in a subprocess; ``setup`` runs first."""
    code = f"{setup}\nfrom moda_cli.cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300
    )


def temp_files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.rglob("*")
        if ".tmp" in p.name or ".moda-tmp" in p.name or p.name.endswith(".lock")
    ]


def assert_every_video_verifies(folder: Path) -> None:
    """Every .mp4 at a final name is complete: recorded, and holding its frames and streams."""
    for video in folder.glob("*.mp4"):
        record = json.loads((folder / f"{video.name}.moda.json").read_text())
        assert record["video_bytes"] == video.stat().st_size, video
        info = probe(video)
        assert info.video_codec == "h264" and info.audio_codec == "aac", video
        assert count_video_frames(video) == record["frames"], video


def make_inputs(folder: Path, portrait: Path, count: int, seconds: float = 1.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        shutil.copy(portrait, folder / f"p{i}.png")
        write_wav(folder / f"p{i}.wav", speechlike(seconds, freq=190.0 + 15 * i))
    return folder


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """mount(folder, options) -> folder on a fresh tmpfs; unmounted at the end."""
    mounted: list[Path] = []

    def mount(folder: Path, options: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


# -- 1. honest exit codes ---------------------------------------------------------------


def test_output_that_is_a_folder_fails_with_one_line_and_exit_1(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    (tmp_path / "x.mp4").mkdir()
    done = moda_proc("render", small_portrait, audio, "-o", tmp_path / "x.mp4", "-q", *FAST)
    assert done.returncode == 1, done.stderr
    assert "x.mp4" in done.stderr and "folder" in done.stderr and "Traceback" not in done.stderr
    assert not temp_files(tmp_path)


def test_read_only_output_folder_exit_1_naming_the_file(tmp_path, small_portrait, tmpfs):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    ro = tmpfs(tmp_path / "ro", "ro,size=1m")
    done = moda_proc("render", small_portrait, audio, "-o", ro / "x.mp4", "-q", *FAST)
    assert done.returncode == 1, done.stderr
    assert "x.mp4" in done.stderr and "read-only" in done.stderr and "Traceback" not in done.stderr


def test_an_unexpected_exception_is_an_internal_error_not_success(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    bug = "import moda_cli.pipeline as p; p.Engine.render = lambda *a, **k: 1 / 0"
    args = ("render", small_portrait, audio, "-o", tmp_path / "x.mp4", "-q", *FAST)
    done = moda_proc(*args, setup=bug)
    assert done.returncode == 70, done.stderr
    lines = [line for line in done.stderr.splitlines() if "internal error" in line]
    assert lines and "ZeroDivisionError" in lines[0] and "Traceback" not in done.stderr
    debug = moda_proc("--debug", *args, setup=bug)
    assert debug.returncode == 70 and "Traceback" in debug.stderr
    # Even an exception outside every command's handler must not exit 0.
    escaped = moda_proc("presets", "list", setup="import moda_cli.cli as c; c.app = lambda: 1 / 0")
    assert escaped.returncode == 70, escaped.stderr
