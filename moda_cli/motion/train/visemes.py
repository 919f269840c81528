"""From espeak's phoneme timings to lip targets and per-frame viseme labels.

Each phoneme is mapped to a target for the five lip parameters (``core.LIP_NAMES``:
jaw_open, lip_round, lip_spread, lip_press, lip_tuck) and a per-parameter *dominance*.
jaw_open targets are fractions of the widest opening of ordinary speech (``core.py``:
``JAW_FULL_GAP``, about 15 mm), so /a/ at 0.9 parts the lips about 14 mm and /i/ at 0.2
about 3 mm; the renderer's scale is calibrated to this table, not the other way round.
The dominance is how strongly a phoneme holds a parameter against its neighbours (Cohen &
Massaro's co-articulation model). A bilabial dominates jaw and press (the lips must meet)
but barely the rounding, so "boo" is rounded already during the b; a t dominates almost
nothing, so its lips are those of the vowels around it.

Each segment's dominance is 1 inside its interval and falls off with a raised cosine
before it (anticipation, ~120 ms for vowels) and after it (carry-over, ~80 ms). The curve
is the dominance-weighted mean of the targets, evaluated every 5 ms and point-sampled at
video frame centres ``(t + 0.5) / fps`` (the time ``audio.features`` aligns frame t to).
Gaps between phonemes are silence segments whose target is a closed, relaxed mouth, so a
pause longer than the fall-off spans reaches exactly 0. Finally every p/b/m gets at least
one frame with jaw_open 0 and lip_press 1, however short it is, so closures are never
averaged away by the 40 ms frame grid.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from .speech import PhonemeEvent

LABEL_SILENCE = 0
LABEL_BILABIAL = 1  # p b m: lips closed
LABEL_OPEN_VOWEL = 2
LABEL_SPEECH = 3
LABEL_LABIODENTAL = 4  # f v: lower lip under the teeth
LABEL_NAMES = ("silence", "bilabial", "open_vowel", "speech", "labiodental")

_GRID_S = 0.005


@dataclass(frozen=True)
class Viseme:
    """target and dominance over (jaw_open, lip_round, lip_spread, lip_press, lip_tuck)."""

    target: tuple[float, float, float, float, float]
    dominance: tuple[float, float, float, float, float]
    label: int
    lead_s: float = 0.10  # anticipation span before the interval
    lag_s: float = 0.07  # carry-over span after it


def _vowel(jaw: float, rnd: float, spread: float) -> Viseme:
    label = LABEL_OPEN_VOWEL if jaw >= 0.6 else LABEL_SPEECH
    return Viseme((jaw, rnd, spread, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0, 1.0), label, 0.12, 0.08)


# (jaw_open, lip_round, lip_spread) of vowels, by IPA letter.
VOWELS: dict[str, Viseme] = {
    ch: _vowel(*v)
    for ch, v in {
        "a": (0.90, 0.0, 0.15),
        "ɑ": (0.95, 0.0, 0.0),
        "æ": (0.85, 0.0, 0.35),
        "ɐ": (0.70, 0.0, 0.05),
        "ɒ": (0.85, 0.35, 0.0),
        "ɶ": (0.80, 0.5, 0.0),
        "ɔ": (0.65, 0.6, 0.0),
        "ʌ": (0.60, 0.0, 0.05),
        "ɛ": (0.60, 0.0, 0.4),
        "œ": (0.55, 0.55, 0.0),
        "ɜ": (0.45, 0.0, 0.1),
        "ɞ": (0.45, 0.4, 0.0),
        "ə": (0.40, 0.0, 0.0),
        "ɚ": (0.35, 0.3, 0.0),
        "ɝ": (0.40, 0.3, 0.0),
        "e": (0.45, 0.0, 0.6),
        "ø": (0.35, 0.7, 0.0),
        "o": (0.45, 0.85, 0.0),
        "ɤ": (0.40, 0.0, 0.2),
        "ɘ": (0.35, 0.0, 0.1),
        "ɵ": (0.35, 0.6, 0.0),
        "i": (0.20, 0.0, 0.9),
        "ɪ": (0.28, 0.0, 0.6),
        "y": (0.18, 0.9, 0.0),
        "ʏ": (0.25, 0.7, 0.0),
        "ɨ": (0.22, 0.0, 0.3),
        "ᵻ": (0.25, 0.0, 0.3),
        "ʉ": (0.20, 0.8, 0.0),
        "ɯ": (0.20, 0.0, 0.4),
        "u": (0.18, 1.0, 0.0),
        "ʊ": (0.28, 0.7, 0.0),
    }.items()
}

_LOW = (0.5, 0.2, 0.2, 0.5, 0.5)  # consonants that leave the lips to their neighbours


def _cons(
    jaw: float,
    rnd: float = 0.0,
    spread: float = 0.0,
    press: float = 0.0,
    tuck: float = 0.0,
    dom: tuple[float, float, float, float, float] = _LOW,
    label: int = LABEL_SPEECH,
    lead: float = 0.08,
    lag: float = 0.05,
) -> Viseme:
    return Viseme((jaw, rnd, spread, press, tuck), dom, label, lead, lag)


_BILABIAL = _cons(
    0.0, press=1.0, dom=(4.0, 0.3, 0.3, 4.0, 2.0), label=LABEL_BILABIAL, lead=0.05, lag=0.03
)
_LABIODENTAL = _cons(
    0.08, tuck=1.0, dom=(2.0, 0.3, 0.3, 1.0, 3.0), label=LABEL_LABIODENTAL, lead=0.06, lag=0.04
)
_CORONAL = _cons(0.20, spread=0.1, dom=(0.6, 0.2, 0.2, 0.5, 0.5))
_SIBILANT = _cons(0.10, spread=0.35, dom=(0.8, 0.3, 0.5, 0.5, 0.5))
_POSTALVEOLAR = _cons(0.15, rnd=0.6, dom=(0.6, 0.8, 0.5, 0.5, 0.5))
_PALATAL = _cons(0.15, spread=0.5, dom=(0.7, 0.4, 0.8, 0.5, 0.5))
_VELAR = _cons(0.25)
_GLOTTAL = _cons(0.30, dom=(0.2, 0.1, 0.1, 0.3, 0.3))
_ROUNDED_GLIDE = _cons(0.12, rnd=1.0, dom=(1.0, 2.0, 1.0, 0.5, 0.5))

CONSONANTS: dict[str, Viseme] = {
    **{c: _BILABIAL for c in "pbmʙ"},
    **{c: _LABIODENTAL for c in "fvɱ"},
    "ʋ": _cons(0.12, rnd=0.2, tuck=0.6, dom=(0.8, 0.5, 0.5, 0.5, 1.5)),
    **{c: _cons(0.08, rnd=0.15, press=0.5, dom=(1.5, 0.5, 0.5, 1.5, 0.5)) for c in "ɸβ"},
    **{c: _CORONAL for c in "tdnlɾrɫɬɮɭɳʈɖɽθð"},
    **{c: _SIBILANT for c in "szʂʐ"},
    **{c: _POSTALVEOLAR for c in "ʃʒ"},
    **{c: _PALATAL for c in "ɕʑçʝjcɟɲʎ"},
    **{c: _VELAR for c in "kgɡŋxɣχʁʀqɢɴħʕ"},
    **{c: _GLOTTAL for c in "hɦʔ"},
    **{c: _ROUNDED_GLIDE for c in "wʍɥ"},
    "ɹ": _cons(0.18, rnd=0.45, dom=(0.6, 0.8, 0.5, 0.5, 0.5)),
    "ɰ": _VELAR,
}
_FALLBACK = _CORONAL  # letters we do not know: a neutral, weakly dominant consonant
SILENCE = Viseme((0.0, 0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0, 1.0), LABEL_SILENCE, 0.04, 0.04)

# Marks that change neither lip shape nor segment count: stress, length, ties, espeak's '-' and '#'.
_DROP = set("ˈˌːˑ-#'\",.͜͡˞ʰʲˤʼ̃ⁿ") | {"\u200d"}


def normalize_ipa(name: str) -> str:
    """'ˈɑː' -> 'ɑ', 'ɔ̃' -> 'ɔ', 'ə-' -> 'ə': letters only, ASCII 'g' kept (as ɡ)."""
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(
        ch for ch in decomposed if ch not in _DROP and not unicodedata.combining(ch)
    ).replace("g", "ɡ")


@cache
def phoneme_visemes(name: str) -> tuple[Viseme, ...]:
    """Visemes of one espeak phoneme in order: 'aɪ' -> [a, ɪ], 'tʃ' -> [t, ʃ], 'p' -> [p].

    A labialised consonant ('kʷ') rounds its lips; unknown letters fall back to a weak
    coronal so that no phoneme of any language is dropped.
    """
    rounded = "ʷ" in name
    out = []
    for ch in normalize_ipa(name.replace("ʷ", "")):
        vis = VOWELS.get(ch) or CONSONANTS.get(ch)
        if vis is None:
            if not ch.isalpha():
                continue
            vis = _FALLBACK
        out.append(vis)
    if not out:  # a bare modifier such as Polish 'ʲ': palatalisation
        out = [CONSONANTS["j"] if "ʲ" in name else _FALLBACK]
    if rounded:
        out = [
            Viseme(
                (v.target[0], max(v.target[1], 0.6), *v.target[2:]),
                v.dominance,
                v.label,
                v.lead_s,
                v.lag_s,
            )
            for v in out
        ]
    return tuple(out)


@dataclass
class Segment:
    start_s: float
    end_s: float
    viseme: Viseme


def segments(phonemes: Sequence[PhonemeEvent], duration_s: float) -> list[Segment]:
    """Viseme segments covering [0, duration_s]: phonemes split evenly among their letters'
    visemes (diphthongs, affricates), gaps filled with silence."""
    out: list[Segment] = []
    t = 0.0
    for ph in sorted(phonemes, key=lambda p: p.start_s):
        start, end = max(ph.start_s, t), min(ph.end_s, duration_s)
        if end <= start:
            continue
        if start > t:
            out.append(Segment(t, start, SILENCE))
        parts = phoneme_visemes(ph.ipa)
        edges = np.linspace(start, end, len(parts) + 1)
        out.extend(
            Segment(float(a), float(b), v)
            for a, b, v in zip(edges[:-1], edges[1:], parts, strict=True)
        )
        t = end
    if t < duration_s:
        out.append(Segment(t, duration_s, SILENCE))
    return out


def _weights(seg: Segment, t: np.ndarray) -> np.ndarray:
    """Temporal dominance window: 1 inside, raised-cosine fall-off over lead/lag spans."""
    w = ((t >= seg.start_s) & (t <= seg.end_s)).astype(np.float64)
    before = (t < seg.start_s) & (t > seg.start_s - seg.viseme.lead_s)
    w[before] = 0.5 * (1.0 + np.cos(np.pi * (seg.start_s - t[before]) / seg.viseme.lead_s))
    after = (t > seg.end_s) & (t < seg.end_s + seg.viseme.lag_s)
    w[after] = 0.5 * (1.0 + np.cos(np.pi * (t[after] - seg.end_s) / seg.viseme.lag_s))
    return w


def frame_times(num_frames: int, fps: float) -> np.ndarray:
    return (np.arange(num_frames) + 0.5) / fps


@dataclass
class LipTrack:
    """curves: (T, 5) float32 in LIP_NAMES order; labels: (T,) int8 (LABEL_* values)."""

    curves: np.ndarray
    labels: np.ndarray


def lip_track(
    phonemes: Sequence[PhonemeEvent], num_frames: int, fps: float, amplitude: float = 1.0
) -> LipTrack:
    """Co-articulated lip curves and labels for ``num_frames`` video frames.

    amplitude scales jaw_open, lip_round and lip_spread (a speaker's articulation size);
    closures keep jaw 0 / press 1 whatever the amplitude.
    """
    duration = num_frames / fps
    segs = segments(phonemes, duration)
    grid = np.arange(0.0, duration + _GRID_S, _GRID_S)
    num = np.zeros((len(grid), 5))
    den = np.full((len(grid), 5), 1e-9)
    for seg in segs:
        lo = np.searchsorted(grid, seg.start_s - seg.viseme.lead_s)
        hi = np.searchsorted(grid, seg.end_s + seg.viseme.lag_s, side="right")
        w = _weights(seg, grid[lo:hi])[:, None] * np.asarray(seg.viseme.dominance)[None]  # (G, 5)
        num[lo:hi] += w * np.asarray(seg.viseme.target)[None]
        den[lo:hi] += w
    times = frame_times(num_frames, fps)
    curves = np.stack([np.interp(times, grid, num[:, k] / den[:, k]) for k in range(5)], axis=1)
    curves[:, :3] *= amplitude
    labels = _labels(segs, times)
    _force_contacts(segs, times, curves, labels)
    return LipTrack(np.clip(curves, 0.0, 1.0).astype(np.float32), labels)


def _labels(segs: list[Segment], times: np.ndarray) -> np.ndarray:
    starts = np.array([s.start_s for s in segs])
    idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(segs) - 1)
    return np.array([segs[i].viseme.label for i in idx], dtype=np.int8)


def _force_contacts(
    segs: list[Segment], times: np.ndarray, curves: np.ndarray, labels: np.ndarray
) -> None:
    """Every p/b/m closes (jaw 0, press 1) and every f/v tucks on at least one frame."""
    for label in (LABEL_LABIODENTAL, LABEL_BILABIAL):  # bilabials last: they win ties
        for seg in segs:
            if seg.viseme.label != label:
                continue
            inside = np.nonzero((times >= seg.start_s) & (times <= seg.end_s))[0]
            if len(inside) == 0:
                inside = np.array([np.argmin(np.abs(times - 0.5 * (seg.start_s + seg.end_s)))])
            labels[inside] = label
            if label == LABEL_BILABIAL:
                curves[inside, 0] = 0.0
                curves[inside, 3] = 1.0
            else:
                curves[inside, 0] = np.minimum(curves[inside, 0], 0.1)
                curves[inside, 4] = np.maximum(curves[inside, 4], 0.9)
