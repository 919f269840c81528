"""Failures that must never pass for success: exit codes, full and read-only disks, write
errors at every site, YAML alias bombs, manifest outputs escaping ``-o``, wrong types.

Renders are tiny (128 px, about a second of audio, the baseline generator). The disk
cases mount small tmpfs folders, which needs root; they skip where mounting is refused.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _media import FAST, job_folder, speechlike, write_wav
from typer.testing import CliRunner

from moda_cli.batch.manifest import plan_manifest
from moda_cli.batch.plan import plan_folder
from moda_cli.cli import app
from moda_cli.ffmpeg import count_video_frames, probe

runner = CliRunner()


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
    return job_folder(folder, portrait, count, seconds, freq=190.0, step=15.0)


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


# Loading the models fails in these runs: an output that can never be written is found first.
NO_MODELS = "import moda_cli.pipeline as p; p.Engine.__init__ = lambda *a, **k: 1 / 0"


def test_output_that_is_a_folder_fails_with_one_line_and_exit_1(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    (tmp_path / "x.mp4").mkdir()
    args = ("render", small_portrait, audio, "-o", tmp_path / "x.mp4", "-q", *FAST)
    done = moda_proc(*args, setup=NO_MODELS)
    assert done.returncode == 1, done.stderr
    assert "x.mp4" in done.stderr and "folder" in done.stderr and "Traceback" not in done.stderr
    assert not temp_files(tmp_path)


def test_read_only_output_folder_exit_1_naming_the_file(tmp_path, small_portrait, tmpfs):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    ro = tmpfs(tmp_path / "ro", "ro,size=1m")
    done = moda_proc(
        "render", small_portrait, audio, "-o", ro / "x.mp4", "-q", *FAST, setup=NO_MODELS
    )
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


# -- 2. full disks and write errors -----------------------------------------------------


def test_full_disk_leaves_only_complete_videos_and_a_rerun_finishes(
    tmp_path, small_portrait, tmpfs
):
    src = make_inputs(tmp_path / "in", small_portrait, 8, seconds=1.5)
    out = tmpfs(tmp_path / "out", "size=300k")  # room for about five of the eight
    start = time.perf_counter()
    done = moda("batch", src, "-o", out, "-q", *FAST)
    seconds = time.perf_counter() - start
    assert done.exit_code == 1, done.output
    assert not temp_files(out), temp_files(out)
    assert_every_video_verifies(out)
    if not (out / "report.json").is_file():
        assert "report was not written" in done.output and "no space" in done.output
    assert "Traceback" not in done.output
    # A finished-looking video that does not match its record is rendered again.
    first = sorted(out.glob("*.mp4"))[0]
    with first.open("r+b") as f:
        f.truncate(first.stat().st_size // 2)
    subprocess.run(["mount", "-o", "remount,size=4m", str(out)], check=True)
    again = moda("batch", src, "-o", out, "-q", *FAST)
    assert again.exit_code == 0, again.output
    status = {
        j["output"]: j["status"] for j in json.loads((out / "report.json").read_text())["jobs"]
    }
    assert status[str(first)] == "done" and len(status) == 8
    assert_every_video_verifies(out)
    assert not temp_files(out)
    print(f"full disk: exit {done.exit_code} in {seconds:.1f}s, rerun exit {again.exit_code}")


def test_read_only_output_folder_fails_every_job_and_says_the_report_is_missing(
    tmp_path, small_portrait, tmpfs
):
    src = make_inputs(tmp_path / "in", small_portrait, 2, seconds=0.6)
    out = tmpfs(tmp_path / "out", "ro,size=1m")
    done = moda("batch", src, "-o", out, "-q", *FAST)
    assert done.exit_code == 1, done.output
    assert "report was not written" in done.output and "read-only" in done.output
    assert "Traceback" not in done.output


class _FailingPipe:
    """ffmpeg's stdin that breaks after a few frames, as a full pipe or disk would."""

    def __init__(self, pipe, err: int):
        self.pipe, self.err, self.frames = pipe, err, 0

    def write(self, data) -> int:
        self.frames += 1
        if self.frames > 3:
            raise OSError(self.err, os.strerror(self.err))
        return self.pipe.write(data)

    def close(self) -> None:
        self.pipe.close()


def _inject(site: str, err: int, monkeypatch) -> None:
    """Make ``site`` fail with ``err`` (or, for "mux", leave a truncated file behind ffmpeg)."""
    from moda_cli.video.writer import VideoWriter

    if site == "pipe":
        start = VideoWriter._start

        def broken_start(self, width, height):
            start(self, width, height)
            self._proc.stdin = _FailingPipe(self._proc.stdin, err)

        monkeypatch.setattr(VideoWriter, "_start", broken_start)
    elif site == "mux":  # ffmpeg exits 0 but the disk kept only part of the file
        wait = VideoWriter._wait_for_ffmpeg

        def truncated(self):
            code = wait(self)
            os.truncate(self._tmp, self._tmp.stat().st_size // 2)
            return code

        monkeypatch.setattr(VideoWriter, "_wait_for_ffmpeg", truncated)
    else:  # a small file, the job's record or the batch report: its temp file stays empty
        target, real_open = (".moda.json.tmp" if site == "record" else "report.json.tmp"), io.open

        def failing_open(path, *args, **kwargs):
            f = real_open(path, *args, **kwargs)
            if target in os.fspath(path) if isinstance(path, (str, os.PathLike)) else False:
                f.close()
                raise OSError(err, os.strerror(err), os.fspath(path))
            return f

        monkeypatch.setattr(builtins, "open", failing_open)
        monkeypatch.setattr(io, "open", failing_open)  # what pathlib calls


@pytest.mark.parametrize(
    ("site", "err"),
    [
        ("pipe", errno.ENOSPC),
        ("pipe", errno.EIO),
        ("mux", 0),
        ("record", errno.ENOSPC),
        ("record", errno.EIO),
        ("report", errno.ENOSPC),
        ("report", errno.EIO),
    ],
)
def test_a_write_error_at_each_site_fails_cleanly(tmp_path, small_portrait, monkeypatch, site, err):
    src = make_inputs(tmp_path / "in", small_portrait, 1, seconds=0.6)
    out = tmp_path / "out"
    _inject(site, err, monkeypatch)
    done = moda("batch", src, "-o", out, "-q", *FAST)
    assert done.exit_code == 1, done.output
    assert not temp_files(out), temp_files(out)
    assert_every_video_verifies(out)
    if site == "report":
        assert not (out / "report.json").exists() and "report was not written" in done.output
        assert len(list(out.glob("*.mp4"))) == 1  # the job itself was fine
    else:
        job = json.loads((out / "report.json").read_text())["jobs"][0]
        assert job["status"] == "failed" and not list(out.glob("*.mp4")), job
        cause = {
            "mux": "incomplete",
            "record": os.strerror(err) if err == errno.EIO else "no space",
        }
        assert site == "pipe" or cause[site].lower() in job["error"].lower(), job["error"]
    assert "Traceback" not in done.output


# -- 3. YAML alias bombs ------------------------------------------------------------------


def _bomb(levels: int = 9) -> str:
    """A flow list of nine anchored levels, each nine aliases of the one before: 9**9 values."""
    items = ["&a [" + ", ".join(["lol"] * 9) + "]"]
    names = "abcdefghijklmnop"
    for prev, name in zip(names[: levels - 1], names[1:levels], strict=True):
        items.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "[" + ", ".join(items) + "]"


def test_an_alias_bomb_preset_is_refused_fast(tmp_path, small_portrait):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(f"description: {_bomb()}\n")  # a bad value, which a message would echo
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    for args in (
        ("render", small_portrait, audio, "-o", tmp_path / "x.mp4", "-p", bomb),
        ("presets", "show", bomb),
    ):
        start = time.perf_counter()
        done = moda(*args)
        seconds = time.perf_counter() - start
        assert done.exit_code == 2, done.output[:500]
        assert seconds < 1.0 and len(done.output) < 10_000 and "alias" in done.output, (
            seconds,
            len(done.output),
        )


def test_an_alias_bomb_manifest_row_is_refused_fast(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(
        f"- {{portrait: {small_portrait}, audio: {audio}}}\n"
        f"- {{portrait: {small_portrait}, audio: {audio}, set: {_bomb()}}}\n"
    )
    start = time.perf_counter()
    done = moda("batch", manifest, "-o", tmp_path / "out", "--json", *FAST)
    seconds = time.perf_counter() - start
    assert done.exit_code == 2, done.output[:500]
    assert seconds < 1.0 and len(done.output) < 10_000 and "alias" in done.output, (
        seconds,
        len(done.output),
    )
    assert not (tmp_path / "out").exists()


# -- 4. manifest outputs stay inside -o --------------------------------------------------


def test_manifest_outputs_cannot_escape_the_output_folder(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "link").symlink_to(outside)
    rows = [
        {"portrait": str(small_portrait), "audio": str(audio), "output": o}
        for o in ("inside/ok.mp4", "../escaped.mp4", str(outside / "abs.mp4"), "link/linked.mp4")
    ]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = set(tmp_path.rglob("*"))
    done = moda("batch", manifest, "-o", out, "-q", *FAST)
    assert done.exit_code == 1, done.output
    jobs = json.loads((out / "report.json").read_text())["jobs"]
    assert [j["status"] for j in jobs] == ["done", "failed", "failed", "failed"]
    assert all("outside the output folder" in j["error"] for j in jobs[1:])
    created = {p for p in set(tmp_path.rglob("*")) - before if out not in p.parents}
    assert not created and not any(outside.iterdir()), created
    allowed = moda(
        "batch", manifest, "-o", out, "--dry-run", "--allow-outside-output", "--json", *FAST
    )
    assert {j["status"] for j in json.loads(allowed.stdout)["jobs"]} <= {"planned", "skipped"}, (
        allowed.output
    )
    assert "--allow-outside-output" in moda("batch", "--help").output


# -- 5. smaller ones ------------------------------------------------------------------------


def test_manifest_values_of_the_wrong_type_fail_their_row(tmp_path):
    rows = [
        {"portrait": "a.jpg", "audio": "a.wav", "seed": 1.7},
        {"portrait": "a.jpg", "audio": "a.wav", "output": {"a": 1}},
        {"portrait": "a.jpg", "audio": "a.wav", "seed": True},
        {"portrait": ["x" * 10_000], "audio": "a.wav"},
        {"portrait": "a.jpg", "audio": "a.wav", "seed": "12"},
    ]
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    jobs = plan_manifest(tmp_path / "jobs.jsonl").jobs
    assert "seed 1.7 is not an integer" in jobs[0].error
    assert "output must be text" in jobs[1].error
    assert "seed True is not an integer" in jobs[2].error
    assert "portrait must be text" in jobs[3].error and len(jobs[3].error) < 200
    assert jobs[4].error is None and jobs[4].seed == 12


def test_two_portraits_with_one_stem_fail_their_job_naming_both(tmp_path):
    for name in ("anna.webp", "anna.tiff", "anna.wav", "bob.png", "bob.wav"):
        (tmp_path / name).write_bytes(b"x")
    jobs = {j.name: j for j in plan_folder(tmp_path).jobs}
    assert jobs["bob"].error is None
    assert jobs["anna"].portrait is None and "anna.tiff and anna.webp" in jobs["anna"].error


def test_a_bad_moda_ffmpeg_is_a_configuration_error(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    env = {"MODA_FFMPEG": str(tmp_path / "no-ffmpeg")}
    render = moda("render", small_portrait, audio, "-o", tmp_path / "x.mp4", *FAST, env=env)
    src = make_inputs(tmp_path / "in", small_portrait, 1, seconds=0.6)
    batch = moda("batch", src, "-o", tmp_path / "out", *FAST, env=env)
    assert (render.exit_code, batch.exit_code) == (2, 2), (render.output, batch.output)
    assert "MODA_FFMPEG" in render.output and "MODA_FFMPEG" in batch.output


def test_a_symlink_loop_is_reported_as_one(tmp_path, small_portrait):
    audio = write_wav(tmp_path / "a.wav", speechlike(0.6))
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    done = moda("render", loop, audio, "-o", tmp_path / "x.mp4", *FAST)
    assert done.exit_code == 1 and "symlink loop" in done.output, done.output
    (tmp_path / "jobs.csv").write_text(f"portrait,audio\n{loop},{audio}\n")
    batch = moda("batch", tmp_path / "jobs.csv", "-o", tmp_path / "out", *FAST)
    error = json.loads((tmp_path / "out" / "report.json").read_text())["jobs"][0]["error"]
    assert batch.exit_code == 1 and "symlink loop" in error, error


def test_hidden_locks_and_temp_files_are_never_jobs_and_a_rerun_cleans_them(
    tmp_path, small_portrait
):
    folder = make_inputs(tmp_path / "in", small_portrait, 1, seconds=0.6)  # also the output folder
    dead = 2**22 + 12345  # above pid_max's default: no such process
    left = [
        ".p0__p0.mp4.lock",
        ".p0__p0.mp4.moda-tmp.mp4",
        ".p0__p0.mp4.moda.json.tmp",
        f".report.json.tmp{dead}",
        ".p0.png.moda-tmp.png",
    ]
    for name in left:
        (folder / name).write_bytes(b"partial")
    plan = plan_folder(folder)
    assert [(j.portrait.name, j.audio.name) for j in plan.jobs] == [
        ("p0.png", "p0.wav")
    ] and not plan.unpaired
    done = moda("batch", folder, "-o", folder, "-q", *FAST)
    assert done.exit_code == 0, done.output
    assert {p.name for p in folder.iterdir() if p.name.startswith(".")} == {".p0.png.moda-tmp.png"}
    assert_every_video_verifies(folder)
