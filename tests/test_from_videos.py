"""Training data from videos: render videos with moda itself, extract the motion back, compare.

Two videos are rendered from the sample portrait: one from a motion we write by hand (a
yaw sine, a jaw pattern, three blinks) at 25 fps, one through the Engine with the
baseline generator at 30 fps (so extraction has to resample). A folder with both, a
broken file, a video without sound and a video without a face is built into a dataset
once; the checks read the extracted motion back through ``load_split``. Extraction writes
joint rows (58); the checks of what the core channels carry read them through
``core.lower``.

Separately, single ARKit shapes the core cannot express, and the eyes looking away, are
rendered alone on the sample portrait, tracked by a fresh mesh and read back by
``facemodel.inverse``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _media import speechlike, transcode, video_with_audio, write_wav

from moda_cli.audio.decode import load_audio
from moda_cli.audio.features import compute_features, num_video_frames
from moda_cli.face.detect import FaceDetector
from moda_cli.face.identity import IDENTITY_DIM, identity_features
from moda_cli.face.image_io import load_portrait
from moda_cli.face.measure import FaceMeter
from moda_cli.face.types import Portrait
from moda_cli.facemodel.arkit import EYE_LOOK_DEG
from moda_cli.facemodel.core import NUM_CORE, core_index, lift, lower
from moda_cli.facemodel.emotions import EMOTION_NONE, NUM_EMOTION_CLASSES
from moda_cli.facemodel.inverse import FITTED, InverseMotion, invert_meshes
from moda_cli.facemodel.params import NUM_PARAMS, PARAM_NAMES, index
from moda_cli.motion.baseline import BaselineGenerator
from moda_cli.motion.gaze import GAZE_SHAPES, eye_look
from moda_cli.motion.generator import MotionRequest
from moda_cli.motion.train.dataset import load_split
from moda_cli.motion.train.from_videos import build_from_videos, joint_rows
from moda_cli.pipeline import Engine, Job
from moda_cli.presets import load_preset
from moda_cli.render.renderer import Renderer
from moda_cli.render.settings import RenderSettings
from moda_cli.video.writer import VideoWriter

BLINKS = (12, 40, 60)  # frames where the hand-made motion's eyes are shut


def _hand_motion(num_frames: int) -> np.ndarray:
    t = np.arange(num_frames) / 25.0
    m = np.zeros((num_frames, NUM_CORE), np.float32)
    m[:, core_index("yaw")] = 8.0 * np.sin(2 * np.pi * t / 2.0)
    m[:, core_index("jaw_open")] = np.clip(0.6 * np.sin(2 * np.pi * t / 0.8), 0.0, 1.0)
    for b in BLINKS:
        for k, v in zip(range(b - 2, b + 3), (0.4, 0.9, 1.0, 0.8, 0.3), strict=True):
            m[k, core_index("blink_left")] = m[k, core_index("blink_right")] = v
    return m


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from moda_cli.motion.train.speech import synthesize

    samples = synthesize(
        "Hello, my name is Anna, and I bake bread.", voice="en", rate_wpm=170
    ).samples
    lead = np.zeros(int(0.2 * 16_000), np.float32)
    audio = np.concatenate([lead, samples, lead]) * 0.8
    return write_wav(tmp_path_factory.mktemp("fv_audio") / "speech.wav", audio)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, small_portrait: Path, speech: Path):
    """(dataset folder, summary, hand motion at 25 fps, baseline motion at 30 fps (both in
    the core channels), video folder)."""
    videos = tmp_path_factory.mktemp("videos")
    preset = load_preset("natural", ["motion.generator=baseline"])

    # 1. The hand-made motion, rendered frame by frame at 25 fps.
    portrait = load_portrait(small_portrait)
    engine = Engine()
    face = engine.load_face(Job(small_portrait, speech, videos / "x.mp4", preset))[1]
    renderer = Renderer(portrait, face, preset.render)
    hand = _hand_motion(num_video_frames(load_audio(speech).duration_s, 25.0))
    with VideoWriter(
        videos / "hand.mp4", settings=preset.video, audio=speech, expected_frames=len(hand)
    ) as w:
        for row in lift(hand):
            w.write(renderer.render(row))

    # 2. The engine with the baseline generator at 30 fps; its motion recomputed from the
    # same request.
    preset30 = load_preset("natural", ["motion.generator=baseline", "video.fps=30"])
    engine.render(Job(small_portrait, speech, videos / "engine.mp4", preset30))
    feats = compute_features(load_audio(speech), 30.0)
    request = MotionRequest(
        feats, identity_features(face.landmarks), preset30.motion, preset30.seed
    )
    baseline = lower(BaselineGenerator().generate(request).params)

    # 3. What a user's folder also holds: a broken file, a silent video, one without a face,
    # other files.
    (videos / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really a video")
    transcode(
        videos / "hand.mp4",
        videos / "silent.webm",
        "-an",
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
    )
    tone = write_wav(videos.parent / "tone.wav", speechlike(1.0))
    video_with_audio(videos / "pattern.avi", tone)
    (videos / "notes.txt").write_text("not a video")

    out = tmp_path_factory.mktemp("fv_data")
    calls: list[tuple[int, int]] = []
    summary = build_from_videos(
        videos, out, heldout_fraction=0.5, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (5, 5)  # every video file, the text file not among them
    return out, summary, hand, baseline, videos


def _clip_motion(data_dir: Path, source: str) -> np.ndarray:
    """The extracted (T, 58) joint motion of the clip made from video ``source``."""
    for split in ("train", "heldout"):
        metas = json.loads((data_dir / split / "clips.json").read_text())
        names = [m["source"] for m in metas]
        if source in names:
            data = load_split(data_dir, split)
            k = names.index(source)
            start, length = data.clip_start[k], data.clip_len[k]
            return data.motion[start : start + length]
    raise AssertionError(f"{source} is in neither split")


def test_skipped_files_are_reported(built):
    _, summary, _, _, _ = built
    reasons = dict(summary.skipped)
    assert set(reasons) == {"broken.mkv", "silent.webm", "pattern.avi"}
    assert (
        "broken.mkv" in reasons["broken.mkv"]
        and "not a readable media file" in reasons["broken.mkv"]
    )
    assert "without sound" in reasons["silent.webm"]
    assert "face was found in 0%" in reasons["pattern.avi"]


def test_dataset_reads_back_with_consistent_shapes(built):
    data_dir, summary, hand, baseline, videos = built
    assert summary.clips == {"train": 1, "heldout": 1}
    total = 0
    for split in ("train", "heldout"):
        d = load_split(data_dir, split)
        n = len(d.labels)
        total += n
        assert d.mel.shape == (n, 4, 80) and d.mel.dtype == np.float16
        assert d.motion.shape == (n, NUM_PARAMS) and np.isfinite(d.motion).all()
        assert d.envelope.shape == (n,) and d.labels.dtype == np.int8
        assert (
            set(np.unique(d.labels)) <= {0, 3} and (d.labels == 3).any() and (d.labels == 0).any()
        )
        assert d.clip_len.sum() == n and d.clip_start[0] == 0
        assert d.identity.shape == (1, IDENTITY_DIM)
        none = np.eye(NUM_EMOTION_CLASSES, dtype=np.float32)[EMOTION_NONE]
        assert d.emotion.shape == (1, NUM_EMOTION_CLASSES) and (d.emotion == none).all()
        assert all(np.isfinite(v).all() for v in d.conditions.values())
        assert d.fps == 25.0
    # Both videos last as long as the speech: 25 fps frames each (the 30 fps one resampled).
    assert total == 2 * len(hand)
    assert abs(len(baseline) * 25 / 30 - len(hand)) <= 1
    # A second build of the same folder is reused, skips included.
    again = build_from_videos(videos, data_dir, heldout_fraction=0.5)
    assert again.reused and again.clips == summary.clips and again.skipped == summary.skipped


def test_hand_motion_is_recovered(built):
    data_dir, _, hand, _, _ = built
    joint = _clip_motion(data_dir, "hand.mp4")
    got = lower(joint)
    jaw_true, jaw = hand[:, core_index("jaw_open")], got[:, core_index("jaw_open")]
    assert np.corrcoef(jaw_true, jaw)[0, 1] > 0.8
    assert jaw[jaw_true == 0].mean() < 0.08 and jaw[jaw_true > 0.45].mean() > 0.25
    yaw_true, yaw = hand[:, core_index("yaw")], got[:, core_index("yaw")]
    assert np.corrcoef(yaw_true, yaw)[0, 1] > 0.9
    # The renderer keeps only part of the face's depth when it turns it (ROTATION_RELIEF),
    # so the mesh sees a smaller turn than was asked for: about 0.4 x here.
    gain = np.polyfit(yaw_true, yaw, 1)[0]
    assert 0.25 < gain < 1.3
    blink = got[:, [core_index("blink_left"), core_index("blink_right")]].mean(axis=1)
    for b in BLINKS:
        assert blink[b - 1 : b + 2].max() > 0.5, f"blink at frame {b} not found"
    far = np.ones(len(blink), bool)
    for b in BLINKS:
        far[b - 4 : b + 5] = False
    assert blink[far].max() < 0.3
    # Nothing else was rendered: the relative channels stay small.
    for name in ("pitch", "roll", "lip_press", "lip_tuck", "smile", "brow_raise"):
        assert np.abs(got[:, core_index(name)]).mean() < 0.15 * (
            10.0 if name in ("pitch", "roll") else 1.0
        ), name
    # Nor any of the fitted shapes, the jaw's openings and the turning head notwithstanding.
    fitted = joint[:, [index(n) for n in FITTED]].mean(axis=0)
    assert fitted.max() < 0.1, dict(zip(FITTED, fitted.round(3), strict=True))


def test_engine_video_jaw_follows_the_baseline(built):
    data_dir, _, _, baseline, _ = built
    got = lower(_clip_motion(data_dir, "engine.mp4"))
    # The 30 fps truth at the 25 fps frames extraction picked (nearest frame).
    pick = np.minimum(np.floor(np.arange(len(got)) * 30 / 25 + 0.5).astype(int), len(baseline) - 1)
    truth = baseline[pick]
    r = np.corrcoef(truth[:, core_index("jaw_open")], got[:, core_index("jaw_open")])[0, 1]
    assert r > 0.7, f"jaw correlation {r:.2f}"


# ----------------------------------------------------------------------------- one shape alone

FRAMES, ON = 50, 30  # frames of a clip (2 s), the first with the shape held (half at ON)


@pytest.fixture(scope="module")
def sample_renderer() -> Renderer:
    from _face_fixtures import astronaut

    portrait = Portrait(astronaut())
    settings = RenderSettings(output="crop")
    return Renderer(portrait, FaceDetector().detect(portrait, settings), settings)


def _read_back(renderer: Renderer, rows: np.ndarray) -> InverseMotion:
    """Joint rows rendered, tracked by a fresh mesh as train.tracking tracks a video (video
    mode, irises kept) and read back."""
    meter = FaceMeter(static=False, iris=True)
    points = []
    for row in rows:
        found = meter.landmarks(renderer.render(row))
        assert found is not None, "no face read in a rendered frame"
        points.append(found)
    meter.close()
    return invert_meshes(np.stack(points).astype(np.float32), np.ones(len(rows), bool))


def _nodding(name: str) -> np.ndarray:
    """(FRAMES, 58) rows: the head nodding and turning 1-2 degrees throughout, ``name``
    held at 1.0 from frame ON (0.5 at ON) unless it is empty, the rest 0."""
    rows = np.zeros((FRAMES, NUM_PARAMS), np.float32)
    rows[:, index("yaw")] = 2.0 * np.sin(np.arange(FRAMES) * 0.9)
    rows[:, index("pitch")] = np.cos(np.arange(FRAMES) * 0.7)
    if name:
        rows[ON:, index(name)] = 1.0
        rows[ON, index(name)] = 0.5
    return rows


def _one_shape_clip(renderer: Renderer, name: str) -> np.ndarray:
    """A clip's joint motion as read back (``_nodding``)."""
    return _read_back(renderer, _nodding(name)).joint


def _mirror(name: str) -> str:
    return name.replace("Left", "@").replace("Right", "Left").replace("@", "Right")


# (shape, shapes of another part of the face that must stay still)
_BROWS_EYES = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft")
_MOUTH = ("mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight")


@pytest.mark.parametrize(
    ("name", "far"),
    [
        ("mouthSmileRight", (*_BROWS_EYES, "browDownRight", "eyeSquintLeft", "eyeSquintRight")),
        ("mouthLeft", (*_BROWS_EYES, "browDownRight", "eyeSquintLeft", "eyeSquintRight")),
        ("eyeSquintLeft", (*_MOUTH, "mouthLeft", "mouthRight", "mouthPucker")),
    ],
)
def test_one_shape_alone_is_read_back(sample_renderer, name, far):
    joint = _one_shape_clip(sample_renderer, name)
    held = joint[ON + 1 :].mean(axis=0)
    assert held[index(name)] > 0.3, f"{name}: {held[index(name)]:.2f}"
    assert held[index(_mirror(name))] < 0.1, f"{_mirror(name)}: {held[index(_mirror(name))]:.2f}"
    assert max(held[index(n)] for n in far) < 0.2, {n: round(float(held[index(n)]), 2) for n in far}
    # No expression before the shape: only the mesh's noise (most at the track's first
    # frames, which the mesh detects rather than tracks).
    before = joint[:ON, 6:]
    assert before.mean(axis=0).max() < 0.05, PARAM_NAMES[6 + int(np.argmax(before.mean(axis=0)))]
    assert before.max() < 0.3, PARAM_NAMES[6 + int(np.argmax(before.max(axis=0)))]


# ----------------------------------------------------------------------------- gaze


_OPPOSITE = {"Out": "In", "In": "Out", "Up": "Down", "Down": "Up"}


@pytest.mark.parametrize(
    ("yaw", "pitch", "looks"),
    [
        (20.0, 0.0, ("eyeLookOutLeft", "eyeLookInRight")),  # to the subject's left
        (-20.0, 0.0, ("eyeLookInLeft", "eyeLookOutRight")),
        (0.0, 20.0, ("eyeLookDownLeft", "eyeLookDownRight")),
    ],
)
def test_gaze_is_read_back(sample_renderer, yaw, pitch, looks):
    """The eyes rendered looking 20 degrees one way from frame ON (two fifths of the clip:
    the clip's resting gaze stays the camera's), the head nodding, a blink before and
    one after: the irises' turn is read as that way's eyeLook shapes, the opposite way's
    stay 0, and the other axis's stay small (a mesh reads 2-4 degrees of it); the blinks,
    where a mesh places the hidden irises 15-20 degrees off, are not read as gaze."""
    rows = _nodding("")
    angles = np.zeros((FRAMES, 2))
    angles[ON:] = yaw, pitch
    rows[:, [index(n) for n in GAZE_SHAPES]] = eye_look(angles)
    for b in (12, ON + 12):
        for side in ("Left", "Right"):
            rows[b - 2 : b + 3, index(f"eyeBlink{side}")] = 0.4, 0.9, 1.0, 0.8, 0.3
    read = joint_rows(_read_back(sample_renderer, rows))[:, [index(n) for n in GAZE_SHAPES]]
    held = dict(zip(GAZE_SHAPES, read[ON + 2 :].mean(axis=0).round(2), strict=True))
    driven = 20.0 / EYE_LOOK_DEG
    opposite = [
        n.replace(way, _OPPOSITE[way]) for n in looks for way in _OPPOSITE if f"Look{way}" in n
    ]
    for name in GAZE_SHAPES:
        if name in looks:
            assert 0.5 * driven < held[name] < 1.5 * driven, held
        elif name in opposite:
            assert held[name] < 0.02, held
        else:
            assert held[name] < 0.2, held
    # Before: the camera, read as no gaze but the mesh's jitter.
    assert read[: ON - 2].max() < 0.1, read[: ON - 2].max(axis=0).round(2)
