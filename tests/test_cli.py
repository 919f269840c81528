"""The `moda` command's conventions: quiet means quiet, text is printed as written,
choices and bounds are checked by the option types, --debug reaches every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _media import FAST, speechlike, write_wav
from PIL import Image
from typer.testing import CliRunner

from moda_cli.cli import app

runner = CliRunner()
MODA = Path(sys.executable).with_name("moda")


def moda(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def run_moda(*args: object) -> subprocess.CompletedProcess[bytes]:
    """The installed command, so stderr is captured at the file-descriptor level: the C++
    loggers of MediaPipe and TensorFlow Lite write there, past Python's sys.stderr."""
    return subprocess.run([str(MODA), *map(str, args)], capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("wav") / "speech.wav", speechlike(0.8))


def test_quiet_render_writes_nothing_on_stdout_or_stderr(tmp_path, small_portrait, wav):
    out = tmp_path / "clip.mp4"
    proc = run_moda("render", small_portrait, wav, "-o", out, "-q", *FAST)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b"", proc.stderr.decode()
    assert proc.stdout == b""
    assert out.stat().st_size > 0


def test_quiet_batch_prints_its_errors_literally_and_no_native_log_lines(
    tmp_path, small_portrait, wav
):
    """Inside a quiet batch, where descriptor 2 is silenced, a failed job's line still reaches
    stderr, with the brackets of its name; stdout carries the JSON report only."""
    src = tmp_path / "in"
    src.mkdir()
    Image.open(small_portrait).save(src / "a.png")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(src / "[x].png")  # no face
    for stem in ("a", "[x]"):
        (src / f"{stem}.wav").write_bytes(wav.read_bytes())
    proc = run_moda("batch", src, "-o", tmp_path / "out", "-q", "--json", *FAST)
    assert proc.returncode == 1, proc.stderr.decode()
    jobs = {j["name"]: j["status"] for j in json.loads(proc.stdout)["jobs"]}
    assert jobs == {"a": "done", "[x]": "failed"}
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 2 and lines[0].startswith("failed [x]: "), lines
    assert lines[1].startswith("2 jobs: 1 done, 1 failed"), lines


def test_an_error_about_a_file_shows_its_name_as_written(tmp_path, wav):
    bad = tmp_path / "[x].png"
    bad.write_bytes(b"not an image")
    result = moda("render", bad, wav, "-o", tmp_path / "[y].mp4", *FAST)
    assert result.exit_code == 1
    assert "[x].png" in result.output


def test_batch_lines_and_tables_keep_brackets(tmp_path, wav):
    src = tmp_path / "in"
    src.mkdir()
    (src / "[x].png").write_bytes(b"not an image")
    (src / "[x].wav").write_bytes(wav.read_bytes())
    result = moda("batch", src, "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert failed and failed[0].startswith("failed [x]: ") and "[x].png" in failed[0], result.output
    assert "│ [x] " in result.output  # the summary table's row


def test_a_hint_with_brackets_is_printed_whole(tmp_path, small_portrait, wav, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    Image.open(small_portrait).save(src / "a.png")
    (src / "a.wav").write_bytes(wav.read_bytes())
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    result = moda("batch", src, "-o", tmp_path / "out", "--executor", "ray", *FAST)
    assert result.exit_code == 2
    assert "pip install 'moda-cli[ray]'" in result.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--device", "gpu"], "--device"),
        (["--detector", "dlib"], "--detector"),
        (["--generator", "magic"], "--generator"),
        (["--pool", "fibres"], "--pool"),
        (["--report-format", "xml"], "--report-format"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_choices_and_bounds_are_usage_errors(tmp_path, args, option):
    result = moda("batch", tmp_path, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2 and option in result.output


def test_help_lists_the_choices_and_groups_batch_options_in_panels():
    result = moda("batch", "--help")
    assert result.exit_code == 0
    text = result.output
    choice_lists = (
        "auto|cpu|cuda",
        "mediapipe|insightface",
        "learned|baseline",
        "local|ray",
        "json|jsonl",
    )
    for choices in choice_lists:
        assert choices in text, choices
    panels = ("Inputs", "Motion", "Render", "Models", "Output", "Batch")
    assert all(f"─ {name} ─" in text for name in panels)


def test_debug_reaches_the_command_through_the_context(tmp_path, wav):
    missing = tmp_path / "none.png"
    plain = moda("render", missing, wav, "-o", tmp_path / "o.mp4")
    debug = moda("--debug", "render", missing, wav, "-o", tmp_path / "o.mp4")
    assert plain.exit_code == debug.exit_code == 1
    assert "Traceback" not in plain.output and "Traceback" in debug.output
