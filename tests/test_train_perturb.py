"""Voice perturbation (``motion/train/perturb.py``): each factor changes the signal the way it
says, measured on the output (f0 by autocorrelation, spectral envelope by its centroid,
timing by the loudness of the phoneme spans), and the recipe hash stays when it is off."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from moda_cli.audio.types import SAMPLE_RATE
from moda_cli.motion.train.dataset import DataRecipe, make_clip
from moda_cli.motion.train.perturb import (
    VoiceFactors,
    VoicePerturbConfig,
    draw_factors,
    maybe_perturb,
    perturb_voice,
)
from moda_cli.motion.train.speech import PhonemeEvent

F0 = 120.0
FORMANTS = (600.0, 1400.0, 2600.0)
BURSTS = ((0.3, 0.8), (1.2, 1.5), (2.1, 2.9))  # voiced spans (s); silence between


def _vowel(seconds: float, f0: float = F0) -> np.ndarray:
    """A pulse train at f0 through three formant resonators (a source-filter vowel)."""
    n = int(seconds * SAMPLE_RATE)
    x = np.zeros(n)
    x[:: int(SAMPLE_RATE / f0)] = 1.0
    for f in FORMANTS:
        r = np.exp(-np.pi * 80.0 / SAMPLE_RATE)  # 80 Hz bandwidth
        theta = 2 * np.pi * f / SAMPLE_RATE
        x = lfilter([1.0 - r], [1.0, -2 * r * np.cos(theta), r * r], x)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _f0(x: np.ndarray) -> float:
    """Median f0 of voiced 40 ms frames by autocorrelation (60-400 Hz)."""
    hop, win = 160, 640
    lags = np.arange(SAMPLE_RATE // 400, SAMPLE_RATE // 60)
    out = []
    for a in range(0, len(x) - win, hop):
        f = x[a : a + win] - x[a : a + win].mean()
        if np.mean(f**2) < 1e-4 * np.max(x**2):
            continue
        ac = np.correlate(f, f, "full")[win - 1 :]
        out.append(SAMPLE_RATE / lags[np.argmax(ac[lags])])
    return float(np.median(out))


def _centroid(x: np.ndarray) -> float:
    """Spectral centroid (Hz) of the whole signal's magnitude spectrum below 5 kHz."""
    mag = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(len(x), 1.0 / SAMPLE_RATE)
    keep = f < 5000
    return float(np.sum(f[keep] * mag[keep]) / np.sum(mag[keep]))


def test_pitch_moves_f0_by_the_factor_and_keeps_the_envelope():
    x = _vowel(1.5)
    y = perturb_voice(x, VoiceFactors(pitch=1.25))
    assert _f0(y) / _f0(x) == pytest.approx(1.25, rel=0.05)
    assert _centroid(y) / _centroid(x) == pytest.approx(1.0, abs=0.06)
    assert len(y) == pytest.approx(len(x), abs=SAMPLE_RATE * 0.01)


@pytest.mark.parametrize("factor", [0.87, 1.15])
def test_formant_warp_moves_the_envelope_and_keeps_f0(factor):
    x = _vowel(1.5)
    y = perturb_voice(x, VoiceFactors(formant=factor))
    assert _f0(y) / _f0(x) == pytest.approx(1.0, rel=0.04)
    ratio = _centroid(y) / _centroid(x)
    assert abs(np.log(ratio)) > 0.5 * abs(np.log(factor))  # moved, the right way
    assert np.sign(np.log(ratio)) == np.sign(np.log(factor))
    assert abs(np.log(ratio)) < 1.5 * abs(np.log(factor))


def _bursts() -> tuple[np.ndarray, list[PhonemeEvent]]:
    x = np.zeros(int(3.3 * SAMPLE_RATE), np.float32)
    for a, b in BURSTS:
        seg = _vowel(b - a)
        x[int(a * SAMPLE_RATE) : int(a * SAMPLE_RATE) + len(seg)] = seg
    return x, [PhonemeEvent("a", a, b) for a, b in BURSTS]


def _loud(x: np.ndarray, t: float) -> bool:
    """Is the 20 ms around ``t`` loud (within 20 dB of the peak frame)?"""
    i = int(t * SAMPLE_RATE)
    seg = x[max(0, i - 160) : i + 160]
    return bool(np.mean(seg**2) > 0.01 * np.mean(x[x != 0] ** 2))


@pytest.mark.parametrize("tempo", [0.85, 1.2])
def test_rate_changes_duration_and_the_phonemes_stay_on_the_sound(tempo):
    x, events = _bursts()
    cfg = VoicePerturbConfig(p=1.0, formant=(1.0, 1.0), pitch=(1.0, 1.0), tempo=(tempo, tempo))
    y, moved, meta = maybe_perturb(x, events, cfg, np.random.default_rng(0))
    assert meta["tempo"] == pytest.approx(tempo)
    assert len(y) / len(x) == pytest.approx(1.0 / tempo, rel=0.01)
    for e, (a, b) in zip(moved, BURSTS, strict=True):
        assert (e.start_s, e.end_s) == pytest.approx((a / tempo, b / tempo))
        inside = np.linspace(e.start_s + 0.03, e.end_s - 0.03, 12)
        assert all(_loud(y, t) for t in inside)
        assert not _loud(y, e.start_s - 0.06) and not _loud(y, e.end_s + 0.06)


def test_off_is_identity_and_keeps_the_recipe_hash():
    x, events = _bursts()
    y, same, meta = maybe_perturb(x, events, VoicePerturbConfig(), np.random.default_rng(0))
    assert y is x and same == events and meta == {}
    # perturbation off is left out of the hash: the espeak-only recipe's (README)
    assert DataRecipe().recipe_hash() == "a6bd6c1d2e308749"
    on = DataRecipe(voice=VoicePerturbConfig(p=0.5))
    assert on.recipe_hash() != DataRecipe().recipe_hash()
    assert DataRecipe.from_json(on.to_json()) == on


def test_factors_are_log_uniform_within_their_ranges():
    cfg = VoicePerturbConfig(p=1.0)
    rng = np.random.default_rng(3)
    draws = [draw_factors(cfg, rng) for _ in range(400)]
    for name, (lo, hi) in (("formant", cfg.formant), ("pitch", cfg.pitch), ("tempo", cfg.tempo)):
        v = np.array([getattr(d, name) for d in draws])
        assert lo <= v.min() and v.max() <= hi
        assert np.median(np.log(v)) == pytest.approx(np.log(np.sqrt(lo * hi)), abs=0.05)


def test_perturbed_recipe_changes_only_the_voice_of_training_clips():
    """The perturbation draws from its own stream: a clip keeps its sentences, conditions
    and emotion, its length follows the tempo, the targets cover the new length, and
    held-out clips are never perturbed. (Audio is not compared bit for bit: espeak's
    output for a clip depends a little on what it spoke before, in this process.)"""
    plain = DataRecipe(clip_seconds=(3.0, 4.0))
    fast = VoicePerturbConfig(p=1.0, formant=(1.1, 1.1), pitch=(0.9, 0.9), tempo=(1.2, 1.2))
    perturbed = DataRecipe(clip_seconds=(3.0, 4.0), voice=fast)
    a, b = make_clip(plain, "train", 2), make_clip(perturbed, "train", 2)
    assert a.conditions == b.conditions and np.array_equal(a.emotion, b.emotion)
    assert a.meta["sentences"] == b.meta["sentences"] and b.meta["tempo"] == pytest.approx(1.2)
    assert len(b.labels) == pytest.approx(len(a.labels) / 1.2, abs=2)
    assert len(b.motion) == len(b.labels) == len(b.mel)
    speech = b.labels != 0  # the last labelled speech frame sits near the perturbed end
    last = np.flatnonzero(a.labels != 0)[-1]
    assert np.flatnonzero(speech)[-1] == pytest.approx(last / 1.2, abs=3)
    held = make_clip(perturbed, "heldout", 1)
    assert "tempo" not in held.meta
    assert held.meta["sentences"] == make_clip(plain, "heldout", 1).meta["sentences"]
