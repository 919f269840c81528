"""`moda eval --suite real`: recorded human speech, held out from training, judged from frames.

The recordings are the Debian voice prompts of ``motion.train.realspeech`` (held-out side
of its fixed split). Prompts are joined into clips of about ``CLIP_SECONDS`` with pauses
of ``PAUSE_S`` (low noise, not digital zero) so that every clip has silences to judge.

English (one speaker; held-out *prompts*, the same voice as in training): pocketsphinx
force-aligns each prompt and ``visemes.lip_track`` turns its phones into the viseme target
and labels, then the espeak suite's ``lip_scores`` apply.
Other languages (Spanish and French speakers held out whole): no transcripts, so
  loudness_corr    Pearson r of the measured lip gap with the loudness envelope over speech
                   frames (where the mouth should follow the syllables), and
  loudness_chance  the same r with the envelope circularly shifted within speech by
                   ``CHANCE_SHIFTS`` offsets (10-90 % of its length), averaged: what a mouth
                   that opens at the right times but not with the syllables scores;
  loudness_gate    r of a mouth that is simply open (0.2 s ramps) whenever there is speech:
                   what a speech detector alone scores on the same frames.
Both: silence_ratio = mean mouth opening (gap above the portrait's rest gap) on frames at
least 0.2 s from speech over the mean opening during speech.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio.features import compute_features
from .audio.types import SAMPLE_RATE, Audio
from .evaluation import EvalCase, Evaluator, lip_scores
from .face.measure import FaceMeasurements
from .motion.generator import MotionGenerator
from .motion.prior import bridge_gaps
from .motion.train import align, realspeech, visemes
from .motion.train.corpus import stable_unit
from .motion.train.speech import PhonemeEvent

CLIP_SECONDS = 10.0
PAUSE_S = 1.0
EDGE_S = 0.5
FPS = 25.0
CHANCE_SHIFTS = 20
SPEECH_LEVEL = 0.15  # envelope above which a frame of an unaligned recording is speech
ENGLISH = "en-allison"
OTHER = ("es-co", "fr-armelle")


@dataclass
class RealCase:
    case: EvalCase
    speech: np.ndarray  # (T,) bool
    source: str
    prompts: list[str]


@dataclass
class RealScores:
    """Means over clips; NaN where a group had no clips."""

    english_clips: int
    mouth_corr: float
    pbm_closed: float
    vowel_shut: float
    silence_ratio_en: float
    other_clips: int
    loudness_corr: float
    loudness_chance: float
    loudness_gate: float
    silence_ratio_other: float


# ----------------------------------------------------------------------------- cases


def _pause(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 3e-4).astype(np.float32)


def _join(
    pieces: Sequence[tuple[np.ndarray, list[PhonemeEvent]]], rng: np.random.Generator
) -> tuple[np.ndarray, list[PhonemeEvent]]:
    """Recordings joined with pauses, and their phonemes shifted to the joined time."""
    parts, phonemes, t = [_pause(EDGE_S, rng)], [], EDGE_S
    for k, (samples, phs) in enumerate(pieces):
        if k:
            parts.append(_pause(PAUSE_S, rng))
            t += PAUSE_S
        phonemes += [PhonemeEvent(p.ipa, p.start_s + t, p.end_s + t) for p in phs]
        parts.append(samples)
        t += len(samples) / SAMPLE_RATE
    parts.append(_pause(EDGE_S, rng))
    return np.concatenate(parts), phonemes


def _groups(prompts: list[realspeech.Prompt], max_clips: int) -> list[list[realspeech.Prompt]]:
    """Prompts in a fixed pseudo-random order, cut into clips of about CLIP_SECONDS."""
    order = sorted(prompts, key=lambda p: stable_unit(f"eval/{p.source}/{p.key}"))
    groups: list[list[realspeech.Prompt]] = [[]]
    seconds = 0.0
    for p in order:
        if seconds >= CLIP_SECONDS:
            if len(groups) == max_clips:
                break
            groups.append([])
            seconds = 0.0
        groups[-1].append(p)
        seconds += p.path.stat().st_size / _BYTES_PER_SECOND[p.source] + PAUSE_S
    return [g for g in groups if g]


# Compressed sizes estimate durations without decoding everything (G.722 64 kbit/s,
# GSM 13.2 kbit/s, 16-bit 8 kHz wav).
_BYTES_PER_SECOND = {
    "en-allison": 8000.0,
    "es-co": 1650.0,
    "fr-armelle": 1650.0,
    "it-menardi": 16000.0,
}


def english_cases(
    folder: Path, max_clips: int, download: bool = False, skipped: list[str] | None = None
) -> list[RealCase]:
    """Held-out English prompts, force-aligned; prompts that fail alignment are skipped
    (their key and reason appended to ``skipped``)."""
    prompts = [
        p
        for p in realspeech.prompts(ENGLISH, folder, download)
        if p.split == "heldout" and p.text is not None
    ]
    aligner, rng = align.english_aligner(), np.random.default_rng(0)
    cases: list[RealCase] = []
    for group in _groups(prompts, max_clips):
        pieces, keys = [], []
        for p in group:
            samples = realspeech.decode(p)
            try:
                pieces.append((samples, aligner.align(samples, p.text or "").phonemes))
                keys.append(p.key)
            except align.AlignError as exc:
                if skipped is not None:
                    skipped.append(f"{p.key}: {exc}")
        if not pieces:
            continue
        samples, phonemes = _join(pieces, rng)
        feats = compute_features(Audio(samples), FPS)
        track = visemes.lip_track(phonemes, feats.num_frames, FPS)
        case = EvalCase(feats, track.curves[:, 0].copy(), track.labels, len(cases))
        cases.append(RealCase(case, track.labels != visemes.LABEL_SILENCE, ENGLISH, keys))
    return cases


def other_cases(folder: Path, max_clips: int, download: bool = False) -> list[RealCase]:
    """Held-out speakers of other languages, alternating sources; speech from loudness."""
    per_source = [
        _groups([p for p in realspeech.prompts(s, folder, download) if p.is_speech], max_clips)
        for s in OTHER
    ]
    rng = np.random.default_rng(1)
    cases: list[RealCase] = []
    for k in range(max_clips):
        groups = per_source[k % len(OTHER)]
        if k // len(OTHER) >= len(groups):
            continue
        group = groups[k // len(OTHER)]
        samples, _ = _join([(realspeech.decode(p), []) for p in group], rng)
        feats = compute_features(Audio(samples), FPS)
        speech = bridge_gaps(feats.envelope > SPEECH_LEVEL, int(0.2 * FPS))
        labels = np.where(speech, visemes.LABEL_SPEECH, visemes.LABEL_SILENCE).astype(np.int8)
        case = EvalCase(feats, feats.envelope.copy(), labels, 100 + k)
        cases.append(RealCase(case, speech, group[0].source, [p.key for p in group]))
    return cases


# ----------------------------------------------------------------------------- metrics


def silence_ratio(gap: np.ndarray, speech: np.ndarray, rest_gap: float) -> float:
    """Mean opening (gap above rest) >= 0.2 s away from speech over the mean during speech."""
    opening = np.clip(np.nan_to_num(gap, nan=rest_gap) - rest_gap, 0.0, None)
    near = np.convolve(speech.astype(float), np.ones(11), mode="same") > 0  # +-0.2 s at 25 fps
    quiet = ~near
    if not quiet.any() or not speech.any():
        return float("nan")
    return float(opening[quiet].mean() / max(opening[speech].mean(), 1e-9))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-9 and b.std() > 1e-9 else 0.0


def loudness_scores(
    gap: np.ndarray, envelope: np.ndarray, speech: np.ndarray
) -> tuple[float, float]:
    """(r, chance): within-speech correlation of gap and loudness, and its shifted mean."""
    g, e = np.nan_to_num(gap)[speech], envelope[speech]
    n = len(g)
    if n < 10:
        return float("nan"), float("nan")
    shifts = np.linspace(0.1 * n, 0.9 * n, CHANCE_SHIFTS).astype(int)
    return _corr(g, e), float(np.mean([_corr(g, np.roll(e, int(s))) for s in shifts]))


def speech_gate_corr(rc: RealCase) -> float:
    """Within-speech r of a mouth open (with 0.2 s ramps) whenever there is speech."""
    gate = np.convolve(rc.speech.astype(float), np.ones(5) / 5.0, mode="same")
    return loudness_scores(gate, rc.case.features.envelope, rc.speech)[0]


def _score(
    generator: MotionGenerator,
    ev: Evaluator,
    cases: list[RealCase],
    say: Callable[[str], None],
    overrides: Sequence[str],
) -> list[tuple[RealCase, dict]]:
    rows = []
    for i, rc in enumerate(cases):
        say(f"{rc.source}: clip {i + 1}/{len(cases)}")
        m: FaceMeasurements = ev.measure(generator, rc.case, seed=i, overrides=overrides)
        row = lip_scores(m, rc.case, ev.closed_below)
        row["silence_ratio"] = silence_ratio(m.mouth_open, rc.speech, ev.rest_gap)
        row["loudness_corr"], row["loudness_chance"] = loudness_scores(
            m.mouth_open, rc.case.features.envelope, rc.speech
        )
        rows.append((rc, row))
    return rows


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if not np.isnan(r[key])]
    return float(np.mean(values)) if values else float("nan")


def _prefixed(say: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    return lambda text: say(f"{prefix}, {text}")


def evaluate_real(
    generators: dict[str, MotionGenerator],
    folder: Path,
    portrait: Path,
    max_clips: int = 6,
    download: bool = False,
    progress: Callable[[str], None] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, RealScores]:
    """Scores of each generator on held-out recordings (``max_clips`` per group)."""
    say = progress or (lambda text: None)
    say("real speech: aligning held-out recordings")
    cases = english_cases(folder, max_clips, download) + other_cases(folder, max_clips, download)
    gate = [speech_gate_corr(rc) for rc in cases if rc.source != ENGLISH]
    ev = Evaluator(portrait)
    results = {}
    for name, gen in generators.items():
        rows = _score(gen, ev, cases, _prefixed(say, name), overrides)
        en = [r for rc, r in rows if rc.source == ENGLISH]
        other = [r for rc, r in rows if rc.source != ENGLISH]
        results[name] = RealScores(
            english_clips=len(en),
            mouth_corr=_mean(en, "mouth_corr"),
            pbm_closed=_mean(en, "pbm_closed"),
            vowel_shut=1.0 - _mean(en, "vowel_open"),
            silence_ratio_en=_mean(en, "silence_ratio"),
            other_clips=len(other),
            loudness_corr=_mean(other, "loudness_corr"),
            loudness_chance=_mean(other, "loudness_chance"),
            loudness_gate=float(np.mean(gate)) if gate else float("nan"),
            silence_ratio_other=_mean(other, "silence_ratio"),
        )
    return results


def markdown_table(results: dict[str, RealScores]) -> str:
    head = (
        "| generator | EN viseme corr | EN p/b/m closed | EN open vowels shut "
        "| EN silence/speech opening | ES+FR mouth-loudness r (chance; speech gate) "
        "| ES+FR silence/speech opening | clips EN / ES+FR |"
    )
    lines = [head, "|" + " --- |" * 8]
    for name, s in results.items():
        lines.append(
            f"| {name} | {s.mouth_corr:.3f} | {s.pbm_closed:.1%} | {s.vowel_shut:.1%} | "
            f"{s.silence_ratio_en:.2f} | {s.loudness_corr:.3f} ({s.loudness_chance:.3f}; "
            f"{s.loudness_gate:.3f}) | "
            f"{s.silence_ratio_other:.2f} | {s.english_clips} / {s.other_clips} |"
        )
    return "\n".join(lines)
