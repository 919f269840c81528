"""Dubbing a video (issue 16): the source's performance kept, the mouth speaking new audio.

The source is made here: the sample portrait animated by moda at 30 fps with lively head
motion and blinks, with a span of flat grey frames (no face, and two cuts) spliced in. It
is dubbed with other speech, resampled to 44.1 kHz stereo, and everything is measured from
the decoded output with a fresh face mesh.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from _media import transcode, video_with_audio
from typer.testing import CliRunner

from moda_cli.audio.decode import load_audio
from moda_cli.audio.features import compute_features
from moda_cli.cli import app
from moda_cli.dub import covered, ramp
from moda_cli.face import landmarks as lm
from moda_cli.face.measure import FaceMeter, measure_points
from moda_cli.face.track import FaceTrackFrames, smooth_points
from moda_cli.ffmpeg import ffmpeg_path_arg, probe, run_ffmpeg
from moda_cli.motion.prior import speech_activity
from moda_cli.video.settings import VideoSettings
from moda_cli.video.source import probe_video, read_video, read_yuv, rgb_box
from moda_cli.video.writer import VideoWriter
from moda_cli.video.yuv import Yuv420Frame

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FPS = 30
GREY = range(100, 110)  # source frames replaced by a flat grey frame: no face
LOWER_OVAL = lm.FACE_OVAL[8:29]


def _frames(path: Path) -> np.ndarray:
    return np.stack([np.array(f) for f in read_video(probe_video(path))])


def _moda(*args: str) -> None:
    result = CliRunner().invoke(app, [*args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample portrait talking at 30 fps (head motion, blinks), grey frames spliced in."""
    folder = tmp_path_factory.mktemp("dub_source")
    talking = folder / "talking.mp4"
    _moda(
        "render",
        str(SAMPLES / "astronaut.png"),
        str(SAMPLES / "astronaut.wav"),
        "-o",
        str(talking),
        "--preset",
        "expressive",
        "--set",
        f"video.fps={FPS}",
        "-q",
    )
    frames = _frames(talking)
    frames[list(GREY)] = 128
    spliced = folder / "source.mp4"
    with VideoWriter(
        spliced,
        audio=SAMPLES / "astronaut.wav",
        expected_frames=len(frames),
        settings=VideoSettings(fps=FPS),
    ) as writer:
        for frame in frames:
            writer.write(frame)
    return spliced


@dataclass
class Dubbed:
    source: np.ndarray  # (T, H, W, 3) decoded source frames
    output: np.ndarray  # (N, H, W, 3) decoded output frames
    path: Path
    audio: Path
    source_meshes: list[np.ndarray | None]
    output_meshes: list[np.ndarray | None]


def _meshes(frames: np.ndarray) -> list[np.ndarray | None]:
    meter = FaceMeter()
    try:
        return [meter.landmarks(f) for f in frames]
    finally:
        meter.close()


@pytest.fixture(scope="module")
def dubbed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Dubbed:
    folder = tmp_path_factory.mktemp("dub_out")
    # Other speech than the source's, at 44.1 kHz stereo: the output must keep both.
    audio = transcode(SAMPLES / "astronaut__de.wav", folder / "new.wav", "-ar", "44100", "-ac", "2")
    out = folder / "dubbed.mp4"
    _moda("render", str(source), str(audio), "-o", str(out), "-q")
    src, dst = _frames(source), _frames(out)
    return Dubbed(src, dst, out, audio, _meshes(src), _meshes(dst))


def test_timing_size_and_sound_follow_source_and_new_audio(source: Path, dubbed: Dubbed) -> None:
    got, want = probe_video(dubbed.path), probe_video(source)
    assert (got.width, got.height, got.fps) == (want.width, want.height, want.fps)
    audio_s = load_audio(dubbed.audio).duration_s
    assert abs(len(dubbed.output) / FPS - audio_s) <= 1.0 / FPS
    sound = probe(dubbed.path)
    assert (sound.audio_rate, sound.audio_channels) == (44100, 2)


def _lower_face(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: the lower face and its surroundings, the part a dub may change."""
    centre = points[list(lm.FACE_OVAL), :2].mean(axis=0)
    ring = centre + 1.5 * (points[list(LOWER_OVAL), :2] - centre)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(ring.astype(np.int32)), 1)
    down = points[lm.CHIN, :2] - points[lm.FOREHEAD, :2]
    down /= np.linalg.norm(down)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    above = (np.stack([xx, yy], -1) - points[2, :2]) @ down < -0.15 * lm.eye_span(points)
    return (mask > 0) & ~above


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def test_outside_the_lower_face_is_the_source(dubbed: Dubbed) -> None:
    worst = np.inf
    for k, points in enumerate(dubbed.source_meshes[: len(dubbed.output)]):
        keep = ~_lower_face(points, dubbed.source[k].shape) if points is not None else slice(None)
        worst = min(worst, _psnr(dubbed.output[k][keep], dubbed.source[k][keep]))
    print(f"PSNR outside the lower face, worst frame: {worst:.1f} dB")
    assert worst >= 38.0


def test_frames_without_a_face_pass_through(dubbed: Dubbed) -> None:
    for k in GREY:  # untouched, so only the encode differs
        assert _psnr(dubbed.output[k], dubbed.source[k]) >= 45.0


def _series(meshes: list[np.ndarray | None], key: str) -> np.ndarray:
    return np.array([np.nan if p is None else measure_points(p, None)[key] for p in meshes])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def test_mouth_follows_the_new_audio_not_the_old(dubbed: Dubbed) -> None:
    n = len(dubbed.output)
    new = compute_features(load_audio(dubbed.audio), FPS).envelope[:n]
    old = compute_features(load_audio(SAMPLES / "astronaut.wav"), FPS).envelope[:n]
    speech = speech_activity(new, FPS, bridge_s=0.1)
    mouth = _series(dubbed.output_meshes, "mouth_open")
    source_mouth = _series(dubbed.source_meshes[:n], "mouth_open")
    r_new, r_old = _corr(mouth[speech], new[speech]), _corr(mouth[speech], old[speech])
    print(
        f"mouth-loudness r: new audio {r_new:.3f}, old audio {r_old:.3f}; "
        f"source mouth with the old audio {_corr(source_mouth[speech], old[speech]):.3f}"
    )
    assert r_new > r_old + 0.1
    assert r_new > 0.3


def test_head_motion_and_blinks_are_the_sources(dubbed: Dubbed) -> None:
    n = len(dubbed.output)
    nose, src_nose = (
        np.array([np.full(2, np.nan) if p is None else p[lm.NOSE_TIP, :2] for p in meshes])
        for meshes in (dubbed.output_meshes, dubbed.source_meshes[:n])
    )
    for axis in (0, 1):
        assert _corr(nose[:, axis], src_nose[:, axis]) > 0.95
    for eye in ("eye_open_left", "eye_open_right"):
        got, want = _series(dubbed.output_meshes, eye), _series(dubbed.source_meshes[:n], eye)
        assert _corr(got, want) > 0.85


def test_the_dub_ramps_in_and_out_beside_frames_without_one() -> None:
    w = ramp(np.array([True] * 6 + [False] * 2 + [True] * 6), frames=3)
    assert w[6] == w[7] == 0.0 and w[0] == 1.0
    assert np.all(np.diff(w[8:]) >= 0) and np.all(np.diff(w[:6]) <= 0) and 0 < w[5] < w[4] < 1


def test_bad_inputs_fail_per_job_naming_the_file(tmp_path: Path) -> None:
    speech = SAMPLES / "astronaut.wav"
    faceless = video_with_audio(tmp_path / "pattern.mp4", None, seconds=1.0)
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["render", str(faceless), str(speech), "-o", str(out)])
    assert result.exit_code == 1 and "pattern.mp4" in result.output and "no face" in result.output
    result = CliRunner().invoke(
        app, ["render", str(faceless), str(speech), "-o", str(out), "--pose-from", str(faceless)]
    )
    assert result.exit_code == 2 and "keeps its own head" in result.output  # before any work
    sound = shutil.copy(speech, tmp_path / "sound.mp4")  # audio named like a video
    result = CliRunner().invoke(app, ["render", str(sound), str(speech), "-o", str(out)])
    assert result.exit_code == 1 and "sound.mp4" in result.output
    assert not out.exists() and not list(tmp_path.glob(".*moda*"))


def _dub_peak_mb(video: Path, audio: Path, out: Path) -> float:
    """Peak resident memory of `moda render VIDEO AUDIO --fit video` in its own process,
    sampled from /proc (the child's ru_maxrss would count this test's own memory, which a
    forked child starts with)."""
    cmd = [
        sys.executable,
        "-m",
        "moda_cli.cli",
        "render",
        str(video),
        str(audio),
        "-o",
        str(out),
        "--fit",
        "video",
        "-q",
    ]
    peak = 0.0
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            with contextlib.suppress(OSError):
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            time.sleep(0.02)
    assert proc.returncode == 0
    return peak


def test_memory_stays_flat_with_the_source_length(source: Path, tmp_path: Path) -> None:
    longer = tmp_path / "longer.mp4"  # the source four times over
    run_ffmpeg(
        [
            "-y",
            "-stream_loop",
            "3",
            "-i",
            ffmpeg_path_arg(source),
            "-c",
            "copy",
            ffmpeg_path_arg(longer),
        ]
    )
    frames = probe_video(source).num_frames
    assert probe_video(longer).num_frames == 4 * frames
    speech = SAMPLES / "astronaut__de.wav"
    short = _dub_peak_mb(source, speech, tmp_path / "short.mp4")
    long = _dub_peak_mb(longer, speech, tmp_path / "long.mp4")
    info = probe_video(source)
    frame_mb = info.width * info.height * 3 / 2**20
    per_frame = (long - short) / (3 * frames) / frame_mb
    print(
        f"peak RSS: {short:.0f} MB for {frames} frames, {long:.0f} MB for {4 * frames} "
        f"({per_frame:.3f} of a frame's pixels per extra frame)"
    )
    # Meshes (5.6 KB a frame) and their inversion's temporaries grow with the source; the
    # frames (0.8 MB each here) must not.
    assert per_frame < 0.15


def test_a_covered_mouth_is_told_only_where_the_lips_are_clearly_red() -> None:
    n = 20
    redness = np.full(n, 12.0, np.float32)
    redness[8:12] = 0.5  # a hand over the mouth: lips no redder than the chin
    track = FaceTrackFrames(
        np.zeros((n, lm.NUM_MESH_POINTS, 3), np.float32),
        np.ones(n, bool),
        np.zeros(n, np.int32),
        redness,
    )
    assert covered(track).tolist() == [k in range(8, 12) for k in range(n)]
    pale = FaceTrackFrames(track.points, track.found, track.shots, redness / 4)
    assert not covered(pale).any()  # pale lips: within the noise, never called covered


def test_a_variable_frame_rate_video_is_read_at_its_average_rate(tmp_path: Path) -> None:
    vfr = tmp_path / "vfr.mp4"  # 60 frames at 30 fps, then 60 at 10 fps
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=30:duration=4",
            "-vf",
            "setpts='if(lt(N,60),N/30,2+(N-60)/10)/TB'",
            "-fps_mode",
            "vfr",
            "-frames:v",
            "120",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            ffmpeg_path_arg(vfr),
        ]
    )
    info = probe_video(vfr)
    assert abs(float(info.fps) - 120 / 8) < 0.5  # the average rate, not the first part's 30
    decoded = sum(1 for _ in read_video(info))
    assert abs(decoded - 8 * float(info.fps)) <= 2  # evenly spaced frames at that rate


def test_mesh_jitter_is_smoothed_but_a_fast_move_is_not() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 300, (lm.NUM_MESH_POINTS, 3)).astype(np.float32)
    base[lm.EYE_CORNERS[1], :2] = base[lm.EYE_CORNERS[0], :2] + (100, 0)  # eye span 100 px
    n = 12
    jitter = rng.normal(0, 1.0, (n, *base.shape)).astype(np.float32)
    still = base[None] + jitter
    fast = base[None] + jitter
    fast[:, :, 0] += 15.0 * np.arange(n)[:, None]  # 0.15 eye spans a frame

    def smoothed(points: np.ndarray) -> np.ndarray:
        track = FaceTrackFrames(
            points.copy(), np.ones(n, bool), np.zeros(n, np.int32), np.zeros(n, np.float32)
        )
        smooth_points(track)
        return track.points

    second = np.abs(np.diff(smoothed(still)[:, :, 1], 2, axis=0)).mean()
    assert second < 0.7 * np.abs(np.diff(still[:, :, 1], 2, axis=0)).mean()
    np.testing.assert_allclose(smoothed(fast), fast, atol=1e-3)  # a fast move is kept


def test_a_box_taken_to_rgb_and_put_back_is_unchanged() -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:48, :64]
    rgb = np.stack([xx * 3, yy * 4, 255 - xx * 2], axis=-1) + rng.integers(0, 30, (48, 64, 3))
    frame = Yuv420Frame(64, 48)
    frame.put_rgb(np.clip(rgb, 0, 255).astype(np.uint8))
    before = frame.data.copy()
    frame.put_rgb(rgb_box(frame, 10, 6, 50, 40), 10, 6)  # the render pass's round trip
    assert np.abs(frame.data.astype(int) - before).max() <= 1
    corner = rgb_box(frame, 11, 7, 13, 9)  # odd corners: the even box around, cut
    np.testing.assert_array_equal(corner, rgb_box(frame, 10, 6, 14, 10)[1:3, 1:3])


def test_an_odd_sized_video_is_decoded_padded_by_its_edge(tmp_path: Path) -> None:
    odd = tmp_path / "odd.mp4"
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=65x49:rate=10:duration=0.5",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            ffmpeg_path_arg(odd),
        ]
    )
    frame = next(read_yuv(probe_video(odd)))
    assert (frame.width, frame.height) == (66, 50)
    np.testing.assert_array_equal(frame.y[:, 65], frame.y[:, 64])
    np.testing.assert_array_equal(frame.y[49], frame.y[48])


def test_an_odd_sized_video_keeps_its_size_and_rate(source: Path, tmp_path: Path) -> None:
    """H.264 cannot store 321x241 in 4:2:0: the output is VP9 at exactly that size, with the
    source's rate, and its picture is still the source's outside the lower face."""
    scaled = ("-t", "2", "-vf", "scale=321:241,fps=25", "-pix_fmt", "yuv444p")
    odd = transcode(source, tmp_path / "odd.mp4", *scaled)
    out = tmp_path / "dubbed.mp4"
    _moda("render", str(odd), str(SAMPLES / "astronaut__de.wav"), "-o", str(out), "-q")
    got, want = probe_video(out), probe_video(odd)
    assert (got.width, got.height, got.fps) == (321, 241, want.fps)
    assert probe(out).video_codec == "vp9"
    # The top of the frame, only encoded (luma: the 4:4:4 source's colour edges are sharper
    # in RGB than any 4:2:0 output's)
    first_out, first_src = next(read_yuv(got)), next(read_yuv(want))
    assert _psnr(first_out.y[:60], first_src.y[:60]) >= 38
