"""The gaze layer (motion/gaze.py) on synthetic speech-activity tracks: saccade statistics,
glances only in thinking pauses, steady eye contact for a news anchor, conjugate eyes."""

from __future__ import annotations

import numpy as np
import pytest

from moda_cli.facemodel.arkit import EYE_LOOK_DEG
from moda_cli.motion.gaze import GAZE_SHAPES, apply_gaze, eye_look, gaze_angles, pauses

FPS = 250.0  # fine enough in time to measure a 30-60 ms saccade


def _activity(seconds: float, silences: list[tuple[float, float]]) -> np.ndarray:
    t = (np.arange(int(seconds * FPS)) + 0.5) / FPS
    active = np.ones(len(t), bool)
    for a, b in silences:
        active[(t >= a) & (t < b)] = False
    return active


def _saccades(angles: np.ndarray) -> list[tuple[float, float, float]]:
    """(start s, duration s, amplitude deg) of each run of frames moving faster than 5 deg/s
    (a fixation is still), the last one left out if the clip ends in it."""
    speed = np.hypot(*np.diff(angles, axis=0).T) * FPS
    moving = np.concatenate([[False], speed > 5.0, [False]])
    starts = np.nonzero(moving[1:] & ~moving[:-1])[0]
    ends = np.nonzero(~moving[1:] & moving[:-1])[0]
    return [
        (a / FPS, (b - a) / FPS, float(np.hypot(*(angles[b] - angles[a]))))
        for a, b in zip(starts, ends, strict=True)
        if b < len(angles) - 1
    ]


def test_eye_contact_with_small_quick_saccades_a_few_a_second():
    angles = gaze_angles("camera", _activity(60.0, []), FPS, seed=3)  # talking throughout
    found = _saccades(angles)
    rate = len(found) / 60.0
    amplitudes = np.array([s[2] for s in found])
    durations = np.array([s[1] for s in found])
    assert 1.5 <= rate <= 4.0, rate
    assert np.all((amplitudes > 0.9) & (amplitudes < 3.1)), (amplitudes.min(), amplitudes.max())
    assert np.all((durations >= 0.026) & (durations <= 0.064)), (durations.min(), durations.max())
    # eye contact: the eyes stay within a few degrees of the camera, centred on it
    assert np.abs(angles).max() < 5.0 and np.abs(np.median(angles, axis=0)).max() < 1.5
    # fixations between the jumps: the eyes rest most of the time
    assert np.mean(np.hypot(*np.diff(angles, axis=0).T) * FPS < 1.0) > 0.85


def test_glances_away_only_in_thinking_pauses():
    long = [(3.0 + 4.0 * k, 4.5 + 4.0 * k) for k in range(12)]  # 1.5 s pauses
    short = [(1.0 + 4.0 * k, 1.25 + 4.0 * k) for k in range(12)]  # 0.25 s: a breath
    activity = _activity(50.0, long + short)
    assert np.allclose(pauses(activity, FPS), long, atol=1 / FPS)
    held = 0
    for seed in range(4):
        angles = gaze_angles("camera", activity, FPS, seed)
        away = np.hypot(*angles.T) > 6.0
        for a, b in long:  # each glance starts after the pause begins and ends before speech
            inside = away[int(a * FPS) : int((b + 0.1) * FPS)]
            held += bool(inside.any())
            lasted = inside.sum() / FPS
            assert inside.sum() == 0 or 0.25 <= lasted <= 1.25, lasted
        assert away.sum() == sum(away[int(a * FPS) : int((b + 0.1) * FPS)].sum() for a, b in long)
    assert 0.5 <= held / (4 * len(long)) <= 0.9  # most thinking pauses, not all


def test_steady_keeps_eye_contact_without_glances():
    activity = _activity(30.0, [(3.0 + 4.0 * k, 4.5 + 4.0 * k) for k in range(6)])
    angles = gaze_angles("steady", activity, FPS, seed=1)
    assert np.abs(angles).max() < 0.5
    assert all(s[2] < 0.5 for s in _saccades(angles))


def test_away_rests_off_camera_and_seeds_decide():
    activity = _activity(10.0, [])
    a = gaze_angles("away", activity, FPS, seed=5)
    assert 10.0 < abs(np.median(a[:, 0])) < 20.0
    assert np.array_equal(a, gaze_angles("away", activity, FPS, seed=5))
    assert not np.array_equal(a, gaze_angles("away", activity, FPS, seed=6))


def test_both_eyes_turn_together_in_arkit_units():
    angles = np.array([[15.0, 0.0], [-15.0, 0.0], [0.0, 6.0], [0.0, -6.0]])  # left/right/down/up
    look = dict(zip(GAZE_SHAPES, eye_look(angles).T, strict=True))
    half = 15.0 / EYE_LOOK_DEG
    assert np.allclose(look["eyeLookOutLeft"], [half, 0, 0, 0])  # yaw + = subject's left
    assert np.allclose(look["eyeLookInRight"], look["eyeLookOutLeft"])
    assert np.allclose(look["eyeLookInLeft"], look["eyeLookOutRight"])
    assert np.allclose(look["eyeLookInLeft"], [0, half, 0, 0])
    assert np.allclose(look["eyeLookDownLeft"], [0, 0, 6.0 / EYE_LOOK_DEG, 0])
    assert np.allclose(look["eyeLookUpRight"], look["eyeLookUpLeft"])
    rows = apply_gaze(np.zeros((4, 52), np.float32), eye_look(angles))
    assert rows.shape == (4, 52) and rows.sum() == pytest.approx(eye_look(angles).sum())
