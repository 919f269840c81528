"""Phoneme timings of recorded speech with a known transcript.

Two aligners, both giving ``speech.PhonemeEvent`` lists with IPA names, so that
``visemes.lip_track`` turns them into lip targets exactly as it does espeak's own events:

* English: forced alignment with pocketsphinx (its wheel ships the US English acoustic
  model and CMU dictionary). Phones come in ARPAbet at 10 ms frames and are renamed to
  IPA (``ARPABET_IPA``). Digits are spelled out; words the dictionary lacks get a
  pronunciation from espeak-ng's IPA mapped back to ARPAbet.
* Any language espeak-ng speaks: the transcript is spoken by espeak, whose phoneme events
  are exact, and that rendering is aligned to the recording by dynamic time warping of
  per-utterance normalised log-mel frames (bands below 4 kHz, so 8 kHz telephone
  recordings compare). Each espeak phoneme boundary maps through the warping path.
  Its accuracy against pocketsphinx on English is in the README ("Real speech").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from ...audio.features import log_mel, mel_filters
from ...audio.types import MEL_HOP_S, SAMPLE_RATE, Audio
from .speech import PhonemeEvent, SpeechClip, WordEvent, synthesize
from .visemes import normalize_ipa

# CMU dictionary phones (stress digits stripped) in IPA; SIL is silence.
ARPABET_IPA: dict[str, str] = {
    "AA": "ɑ",
    "AE": "æ",
    "AH": "ʌ",
    "AO": "ɔ",
    "AW": "aʊ",
    "AY": "aɪ",
    "EH": "ɛ",
    "ER": "ɝ",
    "EY": "eɪ",
    "IH": "ɪ",
    "IY": "i",
    "OW": "oʊ",
    "OY": "ɔɪ",
    "UH": "ʊ",
    "UW": "u",
    "B": "b",
    "CH": "tʃ",
    "D": "d",
    "DH": "ð",
    "F": "f",
    "G": "ɡ",
    "HH": "h",
    "JH": "dʒ",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "P": "p",
    "R": "ɹ",
    "S": "s",
    "SH": "ʃ",
    "T": "t",
    "TH": "θ",
    "V": "v",
    "W": "w",
    "Y": "j",
    "Z": "z",
    "ZH": "ʒ",
}
# espeak's English IPA letters (normalised) -> ARPAbet, longest first when parsing.
_IPA_ARPABET: dict[str, str] = {
    **{v: k for k, v in ARPABET_IPA.items()},
    "ə": "AH",
    "ɚ": "ER",
    "ɜ": "ER",
    "ɐ": "AH",
    "a": "AE",
    "e": "EH",
    "o": "OW",
    "ɒ": "AA",
    "ᵻ": "IH",
    "ɾ": "T",
    "ʔ": "T",
    "r": "R",
    "ɫ": "L",
    "x": "K",
    "ɬ": "L",
    "əʊ": "OW",
    "eə": "EH",
    "ɪə": "IH",
    "ʊə": "UH",
    "aɪə": "AY",
    "aʊə": "AW",
}
_SILENCE_PHONES = frozenset({"SIL", "+NSN+", "+SPN+", "+BREATH+", "+COUGH+", "+UM+", "+UH+"})


class AlignError(ValueError):
    """A transcript could not be aligned to its recording; the message says why."""


# ----------------------------------------------------------------------------- English text

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def spell_number(n: int) -> list[str]:
    """English words of 0 <= n < 1 000 000 ('21' -> twenty one); larger: digit by digit."""
    if n >= 1_000_000:
        return [w for d in str(n) for w in spell_number(int(d))]
    if n >= 1000:
        rest = spell_number(n % 1000) if n % 1000 else []
        return [*spell_number(n // 1000), "thousand", *rest]
    if n >= 100:
        return [_ONES[n // 100], "hundred", *(spell_number(n % 100) if n % 100 else [])]
    if n >= 20:
        return [_TENS[n // 10 - 2], *([_ONES[n % 10]] if n % 10 else [])]
    return [_ONES[n]]


def english_words(text: str) -> list[str]:
    """Lower-case dictionary words of a transcript: digits spelled, punctuation dropped,
    'Call-Forward' split, apostrophes inside words kept ('party's')."""
    words: list[str] = []
    for token in re.findall(r"\d+|[a-z]+(?:'[a-z]+)*", text.lower().replace("-", " ")):
        words += spell_number(int(token)) if token.isdigit() else [token]
    return words


def ipa_to_arpabet(phonemes: Sequence[str]) -> list[str]:
    """espeak's English IPA phonemes -> ARPAbet; raises AlignError on a letter it cannot map."""
    out: list[str] = []
    for name in phonemes:
        letters = normalize_ipa(name)
        i = 0
        while i < len(letters):
            for size in (3, 2, 1):
                piece = letters[i : i + size]
                if len(piece) == size and piece in _IPA_ARPABET:
                    out.append(_IPA_ARPABET[piece])
                    i += size
                    break
            else:
                raise AlignError(f"no ARPAbet phone for espeak's {letters[i]!r} (in {name!r})")
    return out


# ----------------------------------------------------------------------------- pocketsphinx


class EnglishAligner:
    """Forced alignment of 16 kHz US English with pocketsphinx.

    A fresh decoder per recording: a reused one carries its cepstral mean from one
    utterance to the next, so results would depend on what was aligned before (and
    some prompts fail after others that succeed alone)."""

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            from ...errors import MissingDependency

            raise MissingDependency(
                "pocketsphinx is not installed (English forced alignment)",
                hint="pip install -c constraints.txt pocketsphinx",
            ) from None
        self._decoder_class = Decoder

    def _decoder(self, words: Sequence[str]) -> Any:
        """A decoder that knows every word: espeak's pronunciation for the missing ones."""
        dec = self._decoder_class(samprate=SAMPLE_RATE, loglevel="FATAL")
        for word in words:
            if dec.lookup_word(word) is None:
                ipa = [p.ipa for p in synthesize(word, "en-us").phonemes]
                dec.add_word(word, " ".join(ipa_to_arpabet(ipa)), True)
        return dec

    @staticmethod
    def _decode(dec: Any, pcm: bytes) -> None:
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()

    def align(self, samples: np.ndarray, text: str) -> SpeechClip:
        """Phoneme and word timings of ``samples`` (16 kHz float32) speaking ``text``."""
        words = english_words(text)
        if not words:
            raise AlignError(f"no words to align in {text!r}")
        # Dither of about 1 LSB: pocketsphinx fails on digital silence (log of zero energy).
        dither = np.random.default_rng(0).standard_normal(len(samples)) * 2.0
        pcm = np.clip(samples * 32767.0 + dither, -32768, 32767).astype("<i2").tobytes()
        dec = self._decoder(words)
        try:
            dec.set_align_text(" ".join(words))
            self._decode(dec, pcm)  # word alignment
            dec.set_alignment()
            self._decode(dec, pcm)  # phones within it
            alignment = dec.get_alignment()
        except RuntimeError as exc:  # no path through the words: wrong text or bad audio
            raise AlignError(f"pocketsphinx could not align {text[:60]!r}: {exc}") from None
        if alignment is None:
            raise AlignError(f"pocketsphinx found no alignment for {text[:60]!r}")
        phonemes = [
            PhonemeEvent(
                ARPABET_IPA[p.name.rstrip("012")],
                p.start * MEL_HOP_S,
                (p.start + p.duration) * MEL_HOP_S,
            )
            for p in alignment.phones()
            if p.name not in _SILENCE_PHONES
        ]
        spoken = [
            WordEvent(
                re.sub(r"\(\d+\)$", "", w.name),
                w.start * MEL_HOP_S,  # 'read(2)'
                (w.start + w.duration) * MEL_HOP_S,
            )
            for w in alignment
            if w.name not in ("<s>", "</s>", "<sil>")
        ]
        if not phonemes:
            raise AlignError(f"pocketsphinx aligned no phones for {text[:60]!r}")
        return SpeechClip(samples=samples, phonemes=phonemes, words=spoken, text=text, voice="")


@cache
def english_aligner() -> EnglishAligner:
    return EnglishAligner()


# ----------------------------------------------------------------------------- DTW

_MAX_HZ = 4000.0  # telephone band: what an 8 kHz recording holds


@cache
def _band_count() -> int:
    """Mel bands of Whisper's filter bank whose centre lies below _MAX_HZ."""
    fb = mel_filters()
    freqs = np.arange(fb.shape[1]) * SAMPLE_RATE / 2 / (fb.shape[1] - 1)
    centres = (fb * freqs[None]).sum(1) / np.maximum(fb.sum(1), 1e-9)
    return int(np.sum(centres < _MAX_HZ))


def alignment_features(samples: np.ndarray) -> np.ndarray:
    """(N, B) float32 log-mel frames every 10 ms, bands below 4 kHz, each band normalised
    to zero mean and unit variance over the utterance (removes the channel and much of
    the speaker's timbre, which differ between a recording and espeak)."""
    mel = log_mel(Audio(np.asarray(samples, np.float32)))[:, : _band_count()]
    return ((mel - mel.mean(0)) / (mel.std(0) + 1e-3)).astype(np.float32)


def dtw_path(cost: np.ndarray, off_diagonal: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic path through ``cost`` (N, M) from (0, 0) to (N-1, M-1).

    Steps (1, 1), (1, 0) and (0, 1); the last two cost ``off_diagonal`` more. Each row is
    one vectorised pass: within a row D[i, j] = S[j] + min_{k<=j}(A[k] - S[k-1]) with S the
    row's prefix sums of (cost + off_diagonal), A[k] the best entry from row i-1.
    Returns the path's (row, column) indices, both (L,).
    """
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    horiz = cost + off_diagonal
    prev = np.full(m, np.inf)
    for i in range(n):
        from_above = np.full(m, np.inf)
        if i == 0:
            from_above[0] = cost[0, 0]
        else:
            from_above[1:] = np.minimum(prev[:-1] + cost[i, 1:], prev[1:] + horiz[i, 1:])
            from_above[0] = prev[0] + horiz[i, 0]
        s = np.cumsum(horiz[i])
        # entering the row at column k then moving right to j: from_above[k] + S[j] - S[k]
        acc[i] = np.minimum(from_above, s + np.minimum.accumulate(from_above - s))
        prev = acc[i]
    return _backtrack(acc)


def _backtrack(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    rows, cols = [i], [j]
    while i > 0 or j > 0:
        steps = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
        i, j = min((s for s in steps if s[0] >= 0 and s[1] >= 0), key=lambda s: acc[s])
        rows.append(i)
        cols.append(j)
    return np.array(rows[::-1]), np.array(cols[::-1])


def warp_times(times_s: np.ndarray, path: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Reference times -> recording times through a DTW path of 10 ms frames (the mean
    recording frame matched to each reference frame, interpolated between frames)."""
    ref, rec = path
    frames = np.arange(ref.max() + 1)
    mean_rec = np.bincount(ref, weights=rec) / np.bincount(ref)  # (R,)
    warped = np.interp(np.asarray(times_s) / MEL_HOP_S - 0.5, frames, mean_rec)
    return (warped + 0.5) * MEL_HOP_S


def frame_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(R, N) RMS distances between the rows of a (R, B) and b (N, B), without the (R, N, B)
    difference array (1.8 GB for two 30 s prompts)."""
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0) / a.shape[1])


def dtw_align(samples: np.ndarray, text: str, voice: str, off_diagonal: float = 0.0) -> SpeechClip:
    """Phoneme timings of a recording of ``text`` in any espeak ``voice``: espeak's own
    rendering of the text, aligned to the recording by DTW (see the module doc)."""
    reference = synthesize(text, voice, rate_wpm=150)
    if not reference.phonemes:
        raise AlignError(f"espeak spoke no phonemes for {text[:60]!r} in voice {voice!r}")
    a, b = alignment_features(reference.samples), alignment_features(samples)
    cost = frame_distances(a, b)
    path = dtw_path(cost, off_diagonal)
    limit = len(samples) / SAMPLE_RATE

    def warp(t: float) -> float:
        return float(min(warp_times(np.array([t]), path)[0], limit))

    phonemes = [PhonemeEvent(p.ipa, warp(p.start_s), warp(p.end_s)) for p in reference.phonemes]
    words = [WordEvent(w.text, warp(w.start_s), warp(w.end_s)) for w in reference.words]
    return SpeechClip(
        samples=samples,
        phonemes=[p for p in phonemes if p.end_s > p.start_s],
        words=words,
        text=text,
        voice=voice,
    )


# ----------------------------------------------------------------------------- accuracy


def boundary_errors(reference: Sequence[PhonemeEvent], test: Sequence[PhonemeEvent]) -> np.ndarray:
    """|start time differences| (s) of the phones two alignments share.

    The inventories differ (CMU vs espeak), so both sequences are reduced to their
    normalised first IPA letters and matched as sequences (difflib); only matched phones
    count, each by its start time."""

    def letters(ph: Sequence[PhonemeEvent]) -> list[str]:
        return [normalize_ipa(p.ipa)[:1] or "?" for p in ph]

    matcher = difflib.SequenceMatcher(a=letters(reference), b=letters(test), autojunk=False)
    blocks = matcher.get_matching_blocks()
    pairs = [(blk.a + k, blk.b + k) for blk in blocks for k in range(blk.size)]
    return np.array([abs(reference[i].start_s - test[j].start_s) for i, j in pairs])
