"""Baseline generator and the motion prior: determinism, coupling to audio, rates."""

from __future__ import annotations

import numpy as np
import pytest

from moda_cli.audio.types import AudioFeatures
from moda_cli.face.identity import REFERENCE_IDENTITY
from moda_cli.facemodel.core import core_index, lower
from moda_cli.facemodel.emotions import EMOTIONS
from moda_cli.facemodel.params import NUM_PARAMS, POSE_SLICE
from moda_cli.motion import prior
from moda_cli.motion.baseline import BaselineGenerator
from moda_cli.motion.generator import MotionRequest
from moda_cli.motion.settings import MotionSettings

FPS = 25.0


def _features(seconds: float = 12.0, seed: int = 0) -> AudioFeatures:
    """Syllable-like envelope bursts with pauses, no real audio needed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    syll = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6))
    phrase = (np.sin(2 * np.pi * 0.25 * t) > -0.3).astype(float)
    env = np.clip(syll * phrase * rng.uniform(0.7, 1.0, len(t)), 0, 1).astype(np.float32)
    mel = np.zeros((len(t), 4, 80), np.float32)
    return AudioFeatures(mel=mel, envelope=env, fps=FPS, duration_s=seconds)


def _generate(seed: int = 1, feats: AudioFeatures | None = None, **settings) -> np.ndarray:
    req = MotionRequest(feats or _features(), REFERENCE_IDENTITY, MotionSettings(**settings), seed)
    return BaselineGenerator().generate(req).params


def _run(seed: int = 1, feats: AudioFeatures | None = None, **settings) -> np.ndarray:
    """The baseline's motion read back in the core channels it samples."""
    return lower(_generate(seed, feats, **settings))


def test_shape_and_name():
    feats = _features()
    out = _generate(feats=feats)
    assert BaselineGenerator.name == "baseline"
    assert out.shape == (feats.num_frames, NUM_PARAMS) and out.dtype == np.float32
    assert np.isfinite(out).all()


def test_deterministic_per_seed_and_seeds_differ():
    a, b, c = _run(seed=3), _run(seed=3), _run(seed=4)
    assert np.array_equal(a, b)
    assert not np.allclose(a[:, POSE_SLICE], c[:, POSE_SLICE])
    blink = core_index("blink_left")
    assert not np.array_equal(a[:, blink] > 0.5, c[:, blink] > 0.5)


def test_jaw_follows_envelope_and_silence_closes():
    feats = _features()
    jaw = _run(feats=feats)[:, core_index("jaw_open")]
    assert np.corrcoef(jaw, feats.envelope)[0, 1] > 0.9
    assert np.all(jaw[feats.envelope == 0] == 0)


def test_lips_amplitude_scales_jaw():
    small, big = (
        _run(lips=0.5)[:, core_index("jaw_open")],
        _run(lips=1.5)[:, core_index("jaw_open")],
    )
    assert big.max() > 1.8 * small.max()


def test_head_zero_gives_zero_pose():
    out = _run(head=0.0, emotion="sadness")
    assert np.all(out[:, POSE_SLICE] == 0)


@pytest.mark.parametrize("rate", [10.0, 30.0])
def test_blink_rate_matches_setting(rate):
    counts = []
    for seed in range(6):
        feats = _features(60.0, seed)
        blink = _run(seed=seed, feats=feats, blink_rate=rate)[:, core_index("blink_left")]
        closed = blink > 0.5
        counts.append(int(np.sum(closed[1:] & ~closed[:-1]) + closed[0]))
    assert abs(np.mean(counts) - rate) < 0.25 * rate
    assert all(c > 0 for c in counts)


def test_blink_rate_zero_and_both_eyes_together():
    out = _run(blink_rate=0.0)
    assert np.all(out[:, core_index("blink_left")] == 0)
    out = _run(blink_rate=30.0)
    assert np.array_equal(out[:, core_index("blink_left")], out[:, core_index("blink_right")])
    assert (
        out[:, core_index("blink_left")].max() > 0.85
    )  # a blink closes the eye fully on some frame


def test_blink_refractory_gap():
    times = prior.blink_times(int(600 * FPS), FPS, 40.0, np.random.default_rng(0))
    assert np.diff(times).min() >= 0.25 * FPS - 1


def test_head_amplitude_scales_and_rests_in_pauses():
    feats = _features(20.0)
    lo = _run(head=0.5, feats=feats)[:, core_index("yaw")]
    hi = _run(head=2.0, feats=feats)[:, core_index("yaw")]
    assert np.std(hi) > 3.0 * np.std(lo)
    n = int(60 * FPS)
    activity = np.zeros(n, bool)
    activity[: n // 2] = True  # speaking, then 30 s of silence
    pose = np.stack(
        [prior.head_motion(n, FPS, 1.0, np.random.default_rng(s), activity) for s in range(8)]
    )
    assert np.std(pose[:, n // 2 + 100 :, 1]) < 0.6 * np.std(pose[:, : n // 2 - 50, 1])


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_emotion_offsets(emotion):
    out = _run(emotion=emotion)
    base = _run(emotion="none")
    changed = np.abs(out.mean(0) - base.mean(0)) > 0.05
    assert changed.any() == (emotion != "neutral")
    if emotion == "happiness":
        assert out[:, core_index("smile")].mean() > 0.5
    if emotion == "sadness":
        assert out[:, core_index("frown")].mean() > 0.3
    if emotion == "surprise":
        assert out[:, core_index("brow_raise")].mean() > 0.5


def test_progress_called():
    calls = []
    req = MotionRequest(_features(), REFERENCE_IDENTITY, MotionSettings(), 0)
    BaselineGenerator().generate(req, progress=lambda a, b: calls.append((a, b)))
    assert calls and calls[-1][0] == calls[-1][1]
