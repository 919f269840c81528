"""`moda batch` with videos beside portraits: a video pairs with audio like a portrait
(``anna.mp4`` + ``anna__de.wav``) and its job dubs it; manifests take a video in the
``portrait`` or a ``video`` column. Whether a file is a video, its content decides.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _media import FAST, speechlike, transcode, write_wav
from typer.testing import CliRunner

from moda_cli.batch.manifest import plan_manifest
from moda_cli.batch.plan import plan_folder
from moda_cli.cli import app
from moda_cli.ffmpeg import probe


def _moda(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def talking(tmp_path_factory: pytest.TempPathFactory, small_portrait: Path) -> Path:
    """A 1.2 s video of the sample portrait talking at 30 fps, with its own sound."""
    folder = tmp_path_factory.mktemp("bv_source")
    tone = write_wav(folder / "tone.wav", speechlike(1.2, freq=150.0))
    out = folder / "talking.mp4"
    result = _moda("render", small_portrait, tone, "-o", out, "-q", "--set", "video.fps=30", *FAST)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory, talking, small_portrait) -> Path:
    """anna.mp4 (a video) + anna__de.wav, bob.png + bob.wav, and an audio-only .mp4 that
    stays an audio file (bob__en.mp4)."""
    root = tmp_path_factory.mktemp("bv_in")
    shutil.copy(talking, root / "anna.mp4")
    write_wav(root / "anna__de.wav", speechlike(1.0, freq=240.0))
    shutil.copy(small_portrait, root / "bob.png")
    write_wav(root / "bob.wav", speechlike(0.8, freq=200.0))
    transcode(root / "bob.wav", root / "bob__en.mp4", "-c:a", "aac")
    return root


def test_a_video_pairs_with_audio_like_a_portrait(folder):
    plan = plan_folder(folder)
    pairs = {j.name: (j.portrait.name, j.audio.name) for j in plan.jobs}
    assert pairs == {
        "anna__de": ("anna.mp4", "anna__de.wav"),
        "bob": ("bob.png", "bob.wav"),
        "bob__en": ("bob.png", "bob__en.mp4"),
    }, pairs
    assert not plan.unpaired


def test_manifests_take_a_video_in_either_column(folder, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        f"video,audio\n{folder}/anna.mp4,{folder}/anna__de.wav\n{folder}/bob.png,{folder}/bob.wav\n"
    )
    jobs = plan_manifest(manifest).jobs
    assert jobs[0].portrait == folder / "anna.mp4" and jobs[0].error is None
    assert jobs[1].portrait == folder / "bob.png"  # the column names the input, not its kind
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps({"video": "a.mp4", "portrait": "a.png", "audio": "a.wav"}) + "\n")
    assert "not both" in (plan_manifest(both).jobs[0].error or "")


def test_video_and_portrait_jobs_render_and_resume(folder, talking, tmp_path):
    out = tmp_path / "out"
    first = _moda("batch", folder, "-o", out, "--json", *FAST)
    assert first.exit_code == 0, first.output
    jobs = {j["name"]: j for j in json.loads(first.stdout)["jobs"]}
    assert {n: j["status"] for n, j in jobs.items()} == {
        "anna__de": "done",
        "bob": "done",
        "bob__en": "done",
    }, jobs
    dubbed, source = probe(out / "anna__anna__de.mp4"), probe(talking)
    assert (dubbed.width, dubbed.height, dubbed.fps) == (source.width, source.height, source.fps)
    assert abs(dubbed.duration_s - 1.0) < 0.1  # as long as the new audio
    again = _moda("batch", folder, "-o", out, "--json", *FAST)
    assert again.exit_code == 0, again.output
    statuses = {j["name"]: j["status"] for j in json.loads(again.stdout)["jobs"]}
    assert set(statuses.values()) == {"skipped"}, statuses
