"""`moda batch` over awkward inputs, interruptions, reruns and executors.

Renders are tiny (128 px working crop, well under 2 s of audio, the baseline generator)
so the whole file runs in about a minute on two cores. Each expensive batch runs once in
a module fixture and several tests read its report.
"""

from __future__ import annotations

import importlib.util
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
from _media import FAST, job_folder, speechlike, transcode, write_wav
from PIL import Image
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.ffmpeg import probe, read_frames

runner = CliRunner()


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
        "noisy.wav": lambda p: write_wav(
            p, speech + 0.2 * rng.standard_normal(len(speech)).astype(np.float32)
        ),
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
GOOD_AUDIO_FOR = {
    "group": "snd_mp3",
    "gray": "snd_ogg",
    "rgba": "snd_m4a",
    "cmyk": "rate8k",
    "sixteen": "stereo48k",
    "with space": "noisy",
}
BAD_AUDIO = ["zero_snd", "truncated_snd", "text_snd", "silent", "short"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, small_portrait, good_wav):
    """One folder batch over every awkward portrait and audio, run once."""
    root = tmp_path_factory.mktemp("matrix")
    src, out = root / "in", root / "out"
    src.mkdir()
    audios = {
        Path(k).stem: (Path(k).suffix, v) for k, v in _audios(root).items()
    }  # kind -> (ext, what)
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
EXPECTED_DONE = [
    "group__snd_mp3",
    "gray__snd_ogg",
    "rgba__snd_m4a",
    "cmyk__rate8k",
    "sixteen__stereo48k",
    "exif",
    "ünïcødé 名前",
    "-dash",
]


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


# -- manifests, relative paths, usage errors -------------------------------------------


def test_manifest_rows_fail_alone_and_paths_resolve_against_the_manifest(
    tmp_path, small_portrait, good_wav
):
    media = tmp_path / "project" / "media"
    media.mkdir(parents=True)
    shutil.copy(small_portrait, media / "anna.png")
    shutil.copy(good_wav, media / "anna.wav")
    big = np.full((4000, 5000, 3), 180, np.uint8)  # a 5000x4000 photo with the portrait in it
    face = cv2.resize(cv2.imread(str(small_portrait)), (960, 900))
    big[1500:2400, 2000:2960] = face
    cv2.imwrite(str(media / "big.jpg"), big)
    manifest = tmp_path / "project" / "jobs.csv"
    manifest.write_text(
        "portrait,audio,output,seed,set\n"
        "media/anna.png,media/anna.wav,named/anna.mp4,7,\n"
        "media/big.jpg,media/anna.wav,,,render.output=crop\n"
        "media/anna.png,,,,\n"
        "media/missing.png,media/anna.wav,,,\n"
        "media/anna.png,media/anna.wav,other.mp4,notanumber,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    os.chdir(tmp_path)  # relative paths must not depend on where moda runs
    result = moda("batch", manifest, "-o", out, *FAST)
    assert result.exit_code == 1, result.output
    jobs = list(json.loads((out / "report.json").read_text())["jobs"])
    assert [j["status"] for j in jobs] == ["done", "done", "failed", "failed", "failed"]
    assert jobs[0]["output"] == str(out / "named" / "anna.mp4") and jobs[0]["seed"] == 7
    assert jobs[0]["portrait"] == str(media / "anna.png")
    assert "row 3: missing column(s) audio" in jobs[2]["error"]
    assert "missing.png" in jobs[3]["error"] and "not found" in jobs[3]["error"]
    assert "not an integer" in jobs[4]["error"]
    assert (probe(Path(jobs[1]["output"])).width, jobs[1]["preset"]["render"]["output"]) == (
        128,
        "crop",
    )
    assert not leftovers(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "no-such-preset"], "no-such-preset"),
        (["--set", "motion.nope=1"], "motion.nope"),
        (["--set", "render.size=3"], "render.size"),
        (["--template", "{nope}.mp4"], "unknown field"),
        (["--template", "{portrait"], "malformed"),
        (["--template", "same.mp4"], "would both write"),
        (["--workers", "0"], "--workers"),
        (["--executor", "spark"], "--executor"),
    ],
)
def test_usage_errors_exit_2_before_any_work(tmp_path, small_portrait, good_wav, args, message):
    src = tmp_path / "in"
    src.mkdir()
    for stem in ("a", "b"):
        shutil.copy(small_portrait, src / f"{stem}.png")
        shutil.copy(good_wav, src / f"{stem}.wav")
    result = moda("batch", src, "-o", tmp_path / "out", *FAST, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_template_names_outputs_and_same_stems_in_subfolders_collide(
    tmp_path, small_portrait, good_wav
):
    src = tmp_path / "in"
    for sub in ("x", "y"):
        (src / sub).mkdir(parents=True)
        shutil.copy(small_portrait, src / sub / "face.png")
        shutil.copy(good_wav, src / sub / "take.wav")
    collide = moda("batch", src, "-o", tmp_path / "out", "--dry-run", *FAST)
    assert collide.exit_code == 2 and "would both write" in collide.output
    ok = moda(
        "batch",
        src,
        "-o",
        tmp_path / "out",
        "--dry-run",
        "--json",
        "--template",
        "{job}.mp4",
        *FAST,
    )
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert sorted(Path(j["output"]).name for j in doc["jobs"]) == ["x_take.mp4", "y_take.mp4"]
    assert not list((tmp_path / "out").glob("*.mp4"))


# -- resume, interruption, two processes -----------------------------------------------

MODA = Path(sys.executable).with_name("moda")


def _folder(root: Path, portrait: Path, n: int, seconds: float = 0.5) -> Path:
    """``n`` jobs of one portrait, each with its own speech (different pitch)."""
    return job_folder(root, portrait, n, seconds, freq=160.0, step=30.0)


def _popen(*args: object, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [str(MODA), *map(str, args)], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env
    )


def test_resume_skips_matching_outputs_and_renders_changed_settings(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 1), tmp_path / "out"
    video = out / "p0__p0.mp4"

    def run(*extra: str) -> dict:
        result = moda("batch", src, "-o", out, "-q", *FAST, *extra)
        assert result.exit_code == 0, result.output
        return json.loads((out / "report.json").read_text())["jobs"][0]

    assert run()["status"] == "done"
    first = video.stat().st_mtime_ns
    assert run()["status"] == "skipped" and video.stat().st_mtime_ns == first
    assert run("--seed", "5")["status"] == "done"  # a new seed is a new video
    assert run("--seed", "5")["status"] == "skipped"
    assert run("--seed", "5", "--preset", "calm")["status"] == "done"
    assert run("--seed", "5", "--preset", "calm", "--force")["status"] == "done"
    sidecar = json.loads((out / "p0__p0.mp4.moda.json").read_text())
    assert (
        sidecar["seed"] == 5 and sidecar["preset"]["name"] == "calm" and sidecar["status"] == "done"
    )
    (src / "p0.wav").write_bytes(
        write_wav(tmp_path / "new.wav", speechlike(0.5, freq=300)).read_bytes()
    )
    assert run("--seed", "5", "--preset", "calm")["status"] == "done"  # changed input bytes


@pytest.mark.parametrize(
    ("sig", "workers", "pool"),
    [(signal.SIGTERM, 1, "auto"), (signal.SIGINT, 2, "processes"), (signal.SIGTERM, 2, "threads")],
)
def test_interrupt_exits_130_leaves_no_partial_file_and_rerun_completes(
    tmp_path, small_portrait, sig, workers, pool
):
    src, out = _folder(tmp_path / "in", small_portrait, 3, seconds=1.0), tmp_path / "out"
    args = (
        "batch",
        src,
        "-o",
        out,
        "--workers",
        workers,
        "--pool",
        pool,
        *FAST[:2],
        "--set",
        "render.size=160",
        *FAST[2:],
    )
    proc = _popen(*args, log=tmp_path / "log.txt")
    deadline = time.monotonic() + 120
    # Interrupt once a video is being written (its temp file exists), the first one done or not.
    while (
        not list(out.glob(".*.moda-tmp.mp4"))
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert proc.poll() is None, (tmp_path / "log.txt").read_text()
    time.sleep(0.2)
    proc.send_signal(sig)
    assert proc.wait(60) == 130, (tmp_path / "log.txt").read_text()
    assert not leftovers(out), leftovers(out)
    for video in out.glob("*.mp4"):  # whatever exists is complete and recorded
        assert (out / f"{video.name}.moda.json").is_file()
        probe(video)
    jobs = json.loads((out / "report.json").read_text())["jobs"]
    assert {j["status"] for j in jobs} <= {"done", "interrupted"} and "interrupted" in {
        j["status"] for j in jobs
    }
    finished = {j["name"] for j in jobs if j["status"] == "done"}
    if workers > 1:
        return  # resuming is the same whichever executor was interrupted
    again = moda("batch", src, "-o", out, "-q", *FAST[:2], "--set", "render.size=160", *FAST[2:])
    assert again.exit_code == 0, again.output
    status = {j["name"]: j["status"] for j in json.loads((out / "report.json").read_text())["jobs"]}
    assert {n for n, s in status.items() if s == "skipped"} == finished
    assert {n for n, s in status.items() if s == "done"} == set(status) - finished
    assert not leftovers(out)


def test_two_processes_on_one_folder_render_each_job_once(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 3), tmp_path / "out"
    procs = [
        _popen(
            "batch",
            src,
            "-o",
            out,
            "--report",
            tmp_path / f"r{i}.json",
            *FAST,
            log=tmp_path / f"log{i}.txt",
        )
        for i in range(2)
    ]
    codes = [p.wait(180) for p in procs]
    assert codes == [0, 0], [(tmp_path / f"log{i}.txt").read_text()[-2000:] for i in range(2)]
    reports = [jobs_by_name(tmp_path / f"r{i}.json") for i in range(2)]
    for name in reports[0]:
        statuses = sorted(r[name]["status"] for r in reports)
        assert statuses == ["done", "skipped"], (
            name,
            statuses,
        )  # rendered by one, skipped by the other
        assert_video_matches_audio(Path(reports[0][name]["output"]), 0.5)
    assert not leftovers(out) and not list(out.glob(".*.lock"))


# -- executors give the same videos ------------------------------------------------------


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory, small_portrait):
    root = tmp_path_factory.mktemp("executors")
    src = _folder(root / "in", small_portrait, 3)
    result = moda("batch", src, "-o", root / "serial", "-q", "--seed", "11", *FAST)
    assert result.exit_code == 0, result.output
    return src, root


def _same_videos(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        fa, fb = frames_of(a / name), frames_of(b / name)
        assert fa.shape == fb.shape and np.array_equal(fa, fb), name


def test_two_workers_give_the_same_videos_as_one(serial_run):
    src, root = serial_run
    result = moda("batch", src, "-o", root / "pool", "-q", "--seed", "11", "--workers", "2", *FAST)
    assert result.exit_code == 0, result.output
    jobs = json.loads((root / "pool" / "report.json").read_text())["jobs"]
    assert all(j["status"] == "done" for j in jobs) and len({j["worker"] for j in jobs}) == 2
    _same_videos(root / "serial", root / "pool", [f"p{i}__p{i}.mp4" for i in range(3)])


def test_threads_batch_the_learned_models_windows_and_each_job_keeps_its_own(
    tmp_path, small_portrait
):
    """--pool threads: one engine for all jobs; windows that jobs ask for at the same time
    are sampled in one forward (how often depends on timing; test_generate forces it and
    checks each stream gets its own rows). Each video must still be its own job's, the
    same frames as a serial run, and the batcher's solves are charged to the jobs."""
    src = tmp_path / "in"
    src.mkdir()
    pause = 0.002 * np.random.default_rng(0).standard_normal(16_000)
    clips = {
        "talk": speechlike(1.2, freq=160),
        "pause": np.concatenate([pause, speechlike(0.3, freq=200)]),
        "short": speechlike(0.6, freq=250),
    }
    for name, clip in clips.items():
        shutil.copy(small_portrait, src / f"{name}.png")
        write_wav(src / f"{name}.wav", clip)
    learned = [
        "--set",
        "render.size=128",
        "--generator",
        "learned",
        "--device",
        "cpu",
        "--seed",
        "3",
    ]
    runs = {}
    for label, extra in (("serial", []), ("threads", ["--workers", "3", "--pool", "threads"])):
        result = moda("batch", src, "-o", tmp_path / label, "-q", *learned, *extra)
        assert result.exit_code == 0, result.output
        runs[label] = jobs_by_name(tmp_path / label / "report.json")
    assert {j["worker"] for j in runs["threads"].values()} == {
        os.getpid()
    }  # threads of this process
    for name in clips:
        serial, threaded = (
            frames_of(tmp_path / "serial" / f"{name}__{name}.mp4"),
            frames_of(tmp_path / "threads" / f"{name}__{name}.mp4"),
        )
        assert serial.shape == threaded.shape, name
        assert np.abs(serial.astype(np.int16) - threaded).mean() < 0.3, name
        cpu = (
            runs["threads"][name]["stage_cpu_seconds"]["motion"],
            runs["serial"][name]["stage_cpu_seconds"]["motion"],
        )
        # The batcher's solves are charged to the jobs: uncharged, a job reads near 0. A solve
        # batched for three jobs costs less than three, so a job's share can fall well under
        # its serial CPU (0.23 of it measured on a busy machine).
        assert cpu[0] > 0.15 * cpu[1], (name, cpu)


def test_stream_settings_hold_until_the_last_concurrent_job_ends():
    """Jobs in threads share the process's GIL switch interval and library thread counts:
    the first job in sets them, and the first one out must not restore them under the
    others."""
    import cv2

    from moda_cli.pipeline.device import GIL_SWITCH_S, streaming_threads

    before = sys.getswitchinterval(), cv2.getNumThreads()
    first, second = streaming_threads(), streaming_threads()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_S)
    second.__exit__(None, None, None)
    assert (sys.getswitchinterval(), cv2.getNumThreads()) == before


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_executor_gives_the_same_videos(serial_run, tmp_path, monkeypatch):
    src, root = serial_run
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    manifest = tmp_path / "two.jsonl"
    manifest.write_text(
        "".join(
            json.dumps({"portrait": str(src / f"p{i}.png"), "audio": str(src / f"p{i}.wav")}) + "\n"
            for i in range(2)
        )
    )
    result = moda(
        "batch",
        manifest,
        "-o",
        root / "ray",
        "-q",
        "--seed",
        "11",
        "--executor",
        "ray",
        "--workers",
        "2",
        "--template",
        "{portrait}__{audio}.mp4",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    jobs = json.loads((root / "ray" / "report.json").read_text())["jobs"]
    assert [j["status"] for j in jobs] == ["done", "done"]
    _same_videos(root / "serial", root / "ray", ["p0__p0.mp4", "p1__p1.mp4"])


# -- preflight, dry run, reports, progress ------------------------------------------------


def _noface(path: Path) -> Path:
    ramp = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (180, 1))
    cv2.imwrite(str(path), cv2.merge([ramp, ramp[::-1], np.full_like(ramp, 90)]))
    return path


def test_dry_run_plans_without_rendering(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 2), tmp_path / "out"
    result = moda("batch", src, "-o", out, "--dry-run", *FAST)
    assert result.exit_code == 0, result.output
    assert "p0__p0.mp4" in result.output and "natural" in result.output
    assert "would render 2 job(s): 24 frames" in result.output  # 2 x 0.5 s at 25 fps
    assert not list(out.glob("*.mp4")) and not (out / "report.json").exists()
    _noface(src / "p1.png")
    bad = moda("batch", src, "-o", out, "--dry-run", "--json", *FAST)
    assert bad.exit_code == 1
    jobs = {j["name"]: j for j in json.loads(bad.stdout)["jobs"]}
    assert jobs["p0"]["status"] == "planned" and jobs["p0"]["frames"] == 12
    assert jobs["p1"]["status"] == "failed" and "no face" in jobs["p1"]["error"]


def test_preflight_fails_bad_jobs_before_rendering_any(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 1), tmp_path / "out"
    _noface(src / "zz_noface.png")  # sorts after p0: without preflight p0 would render first
    shutil.copy(src / "p0.wav", src / "zz_noface.wav")
    result = moda("batch", src, "-o", out, *FAST)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("failed zz_noface"))
    rendering = next(i for i, line in enumerate(lines) if line.startswith("rendering 1 job(s)"))
    assert failed < rendering, result.output
    jobs = jobs_by_name(out / "report.json")
    assert jobs["p0"]["status"] == "done" and jobs["zz_noface"]["status"] == "failed"
    assert (
        jobs["zz_noface"]["stage_seconds"] == {} and jobs["zz_noface"]["seconds"] is None
    )  # never started
    assert not (out / "zz_noface__zz_noface.mp4").exists() and not leftovers(out)


def test_report_fields_json_on_stdout_and_jsonl(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 1), tmp_path / "out"
    proc = subprocess.run(
        [str(MODA), "batch", str(src), "-o", str(out), "--json", "--report-format", "jsonl", *FAST],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # stdout is the JSON document and nothing else
    (job,) = doc["jobs"]
    assert job["portrait"] == str(src / "p0.png") and job["audio"] == str(src / "p0.wav")
    assert (
        job["output"] == str(out / "p0__p0.mp4")
        and job["status"] == "done"
        and job["error"] is None
    )
    assert (
        job["preset"]["name"] == "natural"
        and job["preset"]["render"]["size"] == 128
        and job["seed"] == 42
    )
    assert job["model"] == "baseline" and len(job["key"]) == 32
    assert (
        set(job["stage_seconds"]) == {"face", "audio", "motion", "render", "encode"}
        and job["frames"] == 12
    )
    assert job["realtime_factor"] > 0 and job["seconds"] >= sum(job["stage_seconds"].values())
    assert (
        set(job["stage_cpu_seconds"]) == set(job["stage_seconds"])
        and job["stage_cpu_seconds"]["encode"] > 0
    )
    assert (doc["summary"]["jobs"], doc["summary"]["done"], doc["summary"]["exit_code"]) == (
        1,
        1,
        0,
    )
    lines = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert [line["type"] for line in lines] == ["job", "summary"] and lines[1]["summary"][
        "done"
    ] == 1
    assert "done" in proc.stderr and "p0__p0.mp4" in proc.stderr  # the human lines went to stderr


def test_progress_bars_on_a_terminal_and_quiet_lines_elsewhere(tmp_path):
    import io

    from rich.console import Console

    from moda_cli.batch.jobs import JobRecord
    from moda_cli.progress import BatchDisplay

    done = JobRecord("a", "a.png", "a.wav", "a.mp4", "done", realtime_factor=1.5)
    failed = JobRecord("b", "b.png", "b.wav", "b.mp4", "failed", error="b.png: no face found")
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100)
    with BatchDisplay(terminal, live=True, quiet=False) as display:
        display.checking(1, 2)
        display.batch_started(2)
        display.job_started(done)
        display.job_progress(done, "render", 5, 10)
        assert display.current.tasks[0].completed == 5
        display.job_finished(done)
        display.job_finished(failed)
        assert display.overall.tasks[0].completed == 2 and not display.current.tasks
    assert "\x1b[" in buffer.getvalue()  # drawn with terminal control codes
    plain = io.StringIO()
    with BatchDisplay(
        Console(file=plain, force_terminal=False, width=200), live=False, quiet=True
    ) as display:
        display.batch_started(2)
        display.job_finished(done)
        display.job_finished(failed)
    assert plain.getvalue() == "failed b: b.png: no face found\n"


def test_a_missing_motion_checkpoint_fails_each_job_before_rendering(tmp_path, small_portrait):
    src, out = _folder(tmp_path / "in", small_portrait, 1), tmp_path / "out"
    args = [
        "--device",
        "cpu",
        "--generator",
        "learned",
        "--motion-checkpoint",
        tmp_path / "none.safetensors",
    ]
    result = moda("batch", src, "-o", out, "--dry-run", "--json", *args)
    assert result.exit_code == 1
    (job,) = json.loads(result.stdout)["jobs"]
    assert "none.safetensors: motion checkpoint not found" in job["error"] and job["frames"] is None


def test_plan_ignores_earlier_outputs_hidden_files_and_reads_spreadsheet_csv(tmp_path):
    from moda_cli.batch.manifest import plan_manifest
    from moda_cli.batch.outputs import assign_outputs
    from moda_cli.batch.plan import plan_folder

    for name in ("anna.png", "anna.wav", "anna__anna.mp4", ".anna.mp4.moda-tmp.mp4", ".hidden.wav"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "anna__anna.mp4.moda.json").write_text(
        "{}"
    )  # an earlier batch's output, same folder
    plan = plan_folder(tmp_path)
    assert [(j.portrait.name, j.audio.name) for j in plan.jobs] == [
        ("anna.png", "anna.wav")
    ] and not plan.unpaired
    (tmp_path / "presets").mkdir()
    (tmp_path / "jobs.csv").write_text(
        "portrait, audio, preset\n anna.png , anna.wav , presets/mine.yaml\n"
        "anna.png,anna.wav,calm\n"
    )
    jobs = plan_manifest(tmp_path / "jobs.csv").jobs
    assert jobs[0].error is None and jobs[0].audio == tmp_path / "anna.wav"
    assert jobs[0].preset == str(tmp_path / "presets" / "mine.yaml") and jobs[1].preset == "calm"
    with pytest.raises(Exception, match=r"anna.png \+ anna.wav"):
        assign_outputs(
            plan_manifest(tmp_path / "jobs.csv"), tmp_path / "out"
        )  # both rows write one file
