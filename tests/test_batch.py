"""`moda batch` over awkward inputs, interruptions, reruns and executors.

Renders are tiny (128 px working crop, well under 2 s of audio, the baseline generator)
so the whole file runs in about a minute on two cores. Each expensive batch runs once in
a module fixture and several tests read its report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.video.ffmpeg import probe
from moda_cli.video.writer import read_frames

from _media import speechlike, transcode, write_wav

runner = CliRunner()
FAST = ["--set", "render.size=128", "--generator", "baseline", "--device", "cpu"]


def moda(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def moda_cmd(*args: object) -> list[str]:
    """The installed command as a subprocess (signals, two processes at once)."""
    return [sys.executable, "-m", "moda_cli", *map(str, args)]


def jobs_by_name(report: Path) -> dict[str, dict]:
    return {j["name"]: j for j in json.loads(report.read_text())["jobs"]}


def leftovers(folder: Path) -> list[Path]:
    """Temp files a crash or an interruption could leave behind."""
    return [p for p in folder.rglob("*") if ".moda-tmp" in p.name or ".tmp" in p.name]


def frames_of(path: Path) -> np.ndarray:
    return np.stack(list(read_frames(path)))


def assert_video_matches_audio(video: Path, audio_seconds: float) -> None:
    info = probe(video)
    assert info.video_codec == "h264" and info.audio_codec == "aac", video
    assert abs(info.duration_s - audio_seconds) < 0.1, (video, info.duration_s, audio_seconds)


# -- input matrix ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_wav(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("wav") / "good.wav", speechlike(0.6))


def _images(small_portrait: Path) -> dict[str, object]:
    """name -> bytes to write, or a callable(path) that writes the file."""
    bgr = cv2.imread(str(small_portrait))
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    png = small_portrait.read_bytes()
    ok, jpg = cv2.imencode(".jpg", bgr)
    assert ok

    def group(path: Path) -> None:
        from insightface.data import get_image

        cv2.imwrite(str(path), get_image("t1"))  # BGR group photo

    def no_face(path: Path) -> None:
        ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (300, 1))
        cv2.imwrite(str(path), cv2.merge([ramp, ramp[::-1], np.full_like(ramp, 90)]))

    def exif_rotated(path: Path) -> None:
        # Pixels stored on their side; orientation 6 tells viewers to turn them upright.
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(np.rot90(rgb, 1).copy()).save(path, "JPEG", exif=exif, quality=92)

    def rgba(path: Path) -> None:
        a = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
        a[:20] = 0
        Image.fromarray(np.concatenate([rgb, a], 2), "RGBA").save(path)

    return {
        "zero_img.png": b"",
        "truncated_img.jpg": jpg.tobytes()[: len(jpg) // 3],
        "text_img.png": b"this is not an image, just text with the wrong name\n" * 20,
        "noface.png": no_face,
        "group.jpg": group,
        "gray.png": lambda p: Image.fromarray(rgb).convert("L").save(p),
        "rgba.png": rgba,
        "cmyk.jpg": lambda p: Image.fromarray(rgb).convert("CMYK").save(p, "JPEG"),
        "sixteen.png": lambda p: cv2.imwrite(str(p), bgr.astype(np.uint16) * 257),
        "exif.jpg": exif_rotated,
        "with space.png": png,
        "ünïcødé 名前.png": png,
        "-dash.png": png,
    }


def _audios(tmp: Path) -> dict[str, object]:
    speech = speechlike(0.6)
    wav = write_wav(tmp / "src.wav", speech)
    rng = np.random.default_rng(1)

    def stereo48(path: Path) -> None:
        t = speechlike(0.6, rate=48_000)
        write_wav(path, np.stack([t, 0.5 * t], 1), rate=48_000)

    return {
        "zero_snd.wav": b"",
        "truncated_snd.wav": wav.read_bytes()[:60],
        "text_snd.wav": b"not audio\n" * 50,
        "silent.wav": lambda p: write_wav(p, np.zeros(9600, np.float32)),
        "noisy.wav": lambda p: write_wav(p, speech + 0.2 * rng.standard_normal(len(speech)).astype(np.float32)),
        "short.wav": lambda p: write_wav(p, speechlike(0.1)),
        "rate8k.wav": lambda p: write_wav(p, speechlike(0.6, rate=8000), rate=8000),
        "stereo48k.wav": stereo48,
        "snd_mp3.mp3": lambda p: transcode(wav, p, "-c:a", "libmp3lame"),
        "snd_ogg.ogg": lambda p: transcode(wav, p, "-c:a", "libvorbis"),
        "snd_m4a.m4a": lambda p: transcode(wav, p, "-c:a", "aac"),
    }


def _write(path: Path, what: object) -> None:
    if isinstance(what, bytes):
        path.write_bytes(what)
    else:
        what(path)  # type: ignore[operator]


# Good portraits take a good audio variant each, so one render checks one of each; the
# rest get a plain wav. Bad audio is paired with the gray portrait (it fails before any
# render), bad portraits with the plain wav.
GOOD_AUDIO_FOR = {"group": "snd_mp3", "gray": "snd_ogg", "rgba": "snd_m4a", "cmyk": "rate8k",
                  "sixteen": "stereo48k", "with space": "noisy"}
BAD_AUDIO = ["zero_snd", "truncated_snd", "text_snd", "silent", "short"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, small_portrait, good_wav):
    """One folder batch over every awkward portrait and audio, run once."""
    root = tmp_path_factory.mktemp("matrix")
    src, out = root / "in", root / "out"
    src.mkdir()
    audios = {Path(k).stem: (Path(k).suffix, v) for k, v in _audios(root).items()}  # kind -> (ext, what)
    for name, what in _images(small_portrait).items():
        stem = Path(name).stem
        _write(src / name, what)
        if stem in GOOD_AUDIO_FOR:
            kind = GOOD_AUDIO_FOR[stem]
            _write(src / f"{stem}__{kind}{audios[kind][0]}", audios[kind][1])
        else:
            shutil.copy(good_wav, src / f"{stem}.wav")
    for kind in BAD_AUDIO:
        _write(src / f"gray__{kind}{audios[kind][0]}", audios[kind][1])
    (src / "loop").symlink_to(src)  # a folder that contains itself
    (src / "self.png").symlink_to(src / "self.png")  # a link to itself
    (src / "lonely.wav").write_bytes(good_wav.read_bytes())
    result = moda("batch", src, "-o", out, *FAST)
    return src, out, result


def test_matrix_exit_code_and_no_partial_files(matrix):
    src, out, result = matrix
    assert result.exit_code == 1, result.output
    assert not leftovers(out) and not leftovers(src)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["exit_code"] == 1
    for job in report["jobs"]:
        assert job["status"] in ("done", "failed"), job
        output = Path(job["output"])
        if job["status"] == "failed":
            assert not output.exists(), job  # never a half-written video
            names = {Path(job["portrait"]).name, Path(job["audio"]).name}
            assert any(n in job["error"] for n in names), job["error"]  # names the file at fault
            assert "internal error" not in job["error"], job["error"]
        else:
            assert_video_matches_audio(output, job["audio_seconds"])


EXPECTED_FAILURES = {
    "zero_img": ("zero_img.png", "empty"),
    "truncated_img": ("truncated_img.jpg", "truncated"),
    "text_img": ("text_img.png", "not a recognised image"),
    "noface": ("noface.png", "no face"),
    "gray__zero_snd": ("zero_snd.wav", "empty"),
    "gray__truncated_snd": ("truncated_snd.wav", ""),
    "gray__text_snd": ("text_snd.wav", "not a readable media file"),
    "gray__silent": ("silent.wav", "silent"),
    "gray__short": ("short.wav", "too short"),
}
EXPECTED_DONE = ["group__snd_mp3", "gray__snd_ogg", "rgba__snd_m4a", "cmyk__rate8k", "sixteen__stereo48k",
                 "exif", "ünïcødé 名前", "-dash"]


def test_matrix_each_job_fails_clearly_or_renders(matrix):
    src, out, _ = matrix
    jobs = jobs_by_name(out / "report.json")
    for name, (file, cause) in EXPECTED_FAILURES.items():
        assert jobs[name]["status"] == "failed", jobs[name]
        assert file in jobs[name]["error"] and cause in jobs[name]["error"], jobs[name]["error"]
    for name in EXPECTED_DONE:
        assert jobs[name]["status"] == "done", jobs[name]
    # speech under heavy noise either renders or is refused with a reason, never crashes
    noisy = jobs["with space__noisy"]
    assert noisy["status"] == "done" or "noisy.wav" in noisy["error"]
    assert any("faces found" in w for w in jobs["group__snd_mp3"]["warnings"])
    # the EXIF-rotated portrait is rendered the way a viewer shows it: 320 wide, 300 high
    info = probe(Path(jobs["exif"]["output"]))
    assert (info.width, info.height) == (320, 300)
    report = json.loads((out / "report.json").read_text())
    assert [Path(p).name for p in report["unpaired"]] == ["lonely.wav"]
    assert len(jobs) == len(EXPECTED_FAILURES) + len(EXPECTED_DONE) + 1
