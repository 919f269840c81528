"""`moda render PORTRAIT AUDIO --pose-from VIDEO`: head pose, blinks and brows from a video.

The reference is made here: the sample portrait animated by moda's renderer with a head
motion written by hand (a slow yaw and pitch, three blinks, a jaw that talks to its own
tone) at 30 fps, so the reference is resampled to the output's 25 fps. A face from
insightface's t1.jpg then speaks espeak speech longer than the reference (so the reference
plays back and forth) with ``--pose-from`` it. A fresh face mesh on both videos measures
head pose, blinks and the mouth; nothing is read back from the generator.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from _media import speechlike, write_wav
from typer.testing import CliRunner, Result

from moda_cli.cli import app
from moda_cli.face.image_io import load_portrait
from moda_cli.facemodel.core import NUM_CORE, core_index, lift
from moda_cli.motion.reference import ping_pong
from moda_cli.pipeline import Engine, Job
from moda_cli.presets import load_preset
from moda_cli.qc import run_qc
from moda_cli.render.renderer import Renderer
from moda_cli.video.writer import VideoWriter

REF_FPS = 30.0
REF_SECONDS = 4.0
BLINKS_S = (0.6, 1.9, 3.2)  # when the reference's eyes shut


def _reference_motion(frames: int, fps: float) -> np.ndarray:
    t = np.arange(frames) / fps
    m = np.zeros((frames, NUM_CORE), np.float32)
    m[:, core_index("yaw")] = 15.0 * np.sin(2 * np.pi * t / 2.7)
    m[:, core_index("pitch")] = 12.0 * np.sin(2 * np.pi * t / 1.9 + 1.0)
    m[:, core_index("jaw_open")] = np.clip(0.5 * np.sin(2 * np.pi * t / 0.37), 0.0, 1.0)
    for b in BLINKS_S:
        k = int(round(b * fps))
        for j, v in zip(range(k - 2, k + 3), (0.4, 0.9, 1.0, 0.8, 0.3), strict=True):
            m[j, core_index("blink_left")] = m[j, core_index("blink_right")] = v
    return m


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, small_portrait: Path) -> Path:
    folder = tmp_path_factory.mktemp("pose_ref")
    tone = write_wav(folder / "tone.wav", speechlike(REF_SECONDS, freq=180.0))
    preset = load_preset("natural", [f"video.fps={REF_FPS}"])
    face = Engine().load_face(Job(small_portrait, tone, folder / "x.mp4", preset))[1]
    renderer = Renderer(load_portrait(small_portrait), face, preset.render)
    motion = lift(_reference_motion(int(REF_SECONDS * REF_FPS), REF_FPS))
    path = folder / "reference.mp4"
    with VideoWriter(path, settings=preset.video, audio=tone, expected_frames=len(motion)) as w:
        for row in motion:
            w.write(renderer.render(row))
    return path


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A face of insightface's group photo (not the reference's face), 320 px."""
    insightface = pytest.importorskip("insightface")
    photo = cv2.imread(str(Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"))
    path = tmp_path_factory.mktemp("pose_portrait") / "t1_face.png"
    cv2.imwrite(str(path), photo[35:355, 160:480])
    return path


def _render_posed(portrait: Path, speech: Path, out: Path, reference: Path) -> Result:
    """``moda render PORTRAIT SPEECH -o OUT -q --pose-from REFERENCE``."""
    args = ["render", str(portrait), str(speech), "-o", str(out), "-q"]
    return CliRunner().invoke(app, [*args, "--pose-from", str(reference)])


@pytest.fixture(scope="module")
def driven(tmp_path_factory, reference, portrait, speech_with_pause) -> Path:
    out = tmp_path_factory.mktemp("pose_out") / "driven.mp4"
    result = _render_posed(portrait, speech_with_pause[0], out, reference)
    assert result.exit_code == 0, result.output
    return out


def _measured(video: Path) -> np.ndarray:
    """(T, 17) core motion a fresh face mesh reads from ``video`` at 25 fps."""
    from moda_cli.motion.train.from_videos import motion_from_track
    from moda_cli.motion.train.tracking import track_faces

    return motion_from_track(track_faces(video, 25.0), video)[0]


def _blink_onsets(m: np.ndarray) -> np.ndarray:
    shut = m[:, [core_index("blink_left"), core_index("blink_right")]].mean(axis=1) > 0.5
    return np.nonzero(shut[1:] & ~shut[:-1])[0] + 1


def test_head_and_blinks_follow_the_reference_mouth_follows_the_audio(
    driven, reference, speech_with_pause
):
    ref, out = _measured(reference), _measured(driven)
    assert len(out) > 1.3 * len(ref)  # the audio outlasts the reference: it played back
    aligned = ref[ping_pong(len(out), len(ref))]
    for name in ("yaw", "pitch"):
        r = np.corrcoef(aligned[:, core_index(name)], out[:, core_index(name)])[0, 1]
        assert r > 0.8, (name, r)
    want, got = _blink_onsets(aligned), _blink_onsets(out)
    assert len(want) >= 4 and len(got) == len(want), (want, got)
    assert np.abs(got - want).max() <= 1, (want, got)
    mouth = run_qc(driven, audio=speech_with_pause[0]).mouth
    assert mouth is not None and mouth.corr is not None and mouth.corr_chance is not None
    assert mouth.corr > max(0.3, mouth.corr_chance), mouth


def test_a_reference_without_a_face_is_a_clear_error(tmp_path, portrait, speech_with_pause):
    import subprocess

    from moda_cli.ffmpeg import ffmpeg_exe

    blank = tmp_path / "blank.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            str(blank),
        ],
        check=True,
    )
    out = tmp_path / "out.mp4"
    result = _render_posed(portrait, speech_with_pause[0], out, blank)
    assert result.exit_code == 1
    assert "pose reference" in result.output and "face" in result.output, result.output
    assert not out.exists()
    still = CliRunner().invoke(
        app,
        [
            "render",
            str(portrait),
            str(speech_with_pause[0]),
            "-o",
            str(out),
            "--pose-from",
            str(portrait),
        ],
    )
    assert still.exit_code == 1 and "still image" in still.output, still.output
