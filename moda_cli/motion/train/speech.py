"""espeak-ng speech synthesis with phoneme timings, through the C library and ctypes.

``espeak-ng --pho`` needs mbrola, which we cannot install, but the library itself reports
every phoneme it speaks: initialised with ``espeakINITIALIZE_PHONEME_EVENTS`` (1) and
``espeakINITIALIZE_PHONEME_IPA`` (2), the synth callback receives events of type 7 whose
``id.string`` is the phoneme's IPA name and whose ``sample`` is its start in samples. An
empty name marks a pause. The library is global state, so every call holds one lock.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import resample_poly

from ...audio.types import SAMPLE_RATE

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 1
_INIT_PHONEME_IPA = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_WORD, _EV_PHONEME = 0, 1, 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class PhonemeEvent:
    """One spoken phoneme: IPA name as espeak writes it (stress and length marks kept)."""

    ipa: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class WordEvent:
    text: str
    start_s: float
    end_s: float


@dataclass
class SpeechClip:
    """Synthesised speech: (N,) float32 samples at 16 kHz, phoneme and word timings in seconds.

    Phonemes do not overlap and are sorted; the gaps between them are pauses (silence).
    """

    samples: np.ndarray
    phonemes: list[PhonemeEvent] = field(default_factory=list)
    words: list[WordEvent] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE
    text: str = ""
    voice: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class _Engine:
    """The process-wide espeak-ng library, initialised once on first use."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA
        )
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate}); data path {data!r}")
        self.lib = lib
        self.rate = rate
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str | int]] = []
        self._callback = _SynthCallback(self._on_audio)  # kept alive as long as the engine
        lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, n, events) -> int:  # called by the C library
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                name: str | int = bytes(ev.id.string).split(b"\0")[0].decode("utf-8", "replace")
            else:
                name = ev.id.number
            self._events.append((ev.type, ev.sample, ev.text_position, ev.length, name))
            i += 1
        return 0

    def run(
        self,
        text: str,
        voice: str,
        rate_wpm: int,
        pitch: int,
        pitch_range: int,
        word_gap: int,
        volume: int,
    ) -> tuple[np.ndarray, list]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (e.g. 'en', 'de', 'en-us+f3')")
        self.lib.espeak_SetParameter(_PARAM_RATE, int(rate_wpm), 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
        self.lib.espeak_SetParameter(_PARAM_RANGE, int(pitch_range), 0)
        self.lib.espeak_SetParameter(_PARAM_VOLUME, int(volume), 0)
        self.lib.espeak_SetParameter(_PARAM_WORDGAP, int(word_gap), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        self.lib.espeak_Synchronize()
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with code {err} for {text[:40]!r}")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return pcm, self._events


_LOCK = threading.Lock()
_ENGINE: _Engine | None = None


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine()
    return _ENGINE


def _timings(
    events: list, text: str, rate: int, duration_s: float
) -> tuple[list[PhonemeEvent], list[WordEvent]]:
    """Phoneme intervals (each ends where the next event, phoneme or pause, starts)."""
    marks: list[tuple[float, str]] = []  # (time, ipa) with "" = pause
    words: list[tuple[float, str]] = []
    end_s = duration_s
    for typ, sample, pos, length, name in events:
        t = min(sample / rate, duration_s)
        if typ == _EV_PHONEME:
            marks.append((t, str(name)))
        elif typ == _EV_WORD:
            words.append((t, text[max(pos - 1, 0) : max(pos - 1, 0) + length]))
    marks.sort(key=lambda m: m[0])
    phonemes = []
    for i, (t, name) in enumerate(marks):
        t_next = marks[i + 1][0] if i + 1 < len(marks) else end_s
        if name and t_next > t:
            phonemes.append(PhonemeEvent(name, t, t_next))
    word_events = []
    for i, (t, w) in enumerate(words):
        t_next = words[i + 1][0] if i + 1 < len(words) else end_s
        inside = [p.end_s for p in phonemes if t <= p.start_s < t_next]
        word_events.append(WordEvent(w, t, max(inside) if inside else t_next))
    return phonemes, word_events


def synthesize(
    text: str,
    voice: str = "en",
    rate_wpm: int = 160,
    pitch: int = 50,
    pitch_range: int = 50,
    word_gap: int = 0,
    volume: int = 50,
) -> SpeechClip:
    """Speak ``text`` with an espeak-ng voice; samples resampled to 16 kHz, float32 in [-1, 1].

    voice:       espeak voice name, optionally with a variant ('en', 'en-us+f3', 'de+m2').
    rate_wpm:    words per minute (espeak accepts about 80..450).
    pitch:       base pitch 0..99; pitch_range: intonation range 0..99 (0 = monotone).
    word_gap:    extra pause between words in units of 10 ms.
    volume:      espeak amplitude 0..200; 100 clips many variants, 50 leaves headroom.
    """
    with _LOCK:
        eng = _engine()
        pcm, events = eng.run(text, voice, rate_wpm, pitch, pitch_range, word_gap, volume)
        rate = eng.rate
    x = pcm.astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    phonemes, words = _timings(events, text, rate, len(pcm) / rate)
    return SpeechClip(samples=x, phonemes=phonemes, words=words, text=text, voice=voice)
