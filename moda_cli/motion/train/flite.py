"""flite voices as more synthetic speakers, with their segment timings.

flite's voices are built from recordings of real speakers (awb: Scottish English male,
rms: US male, slt: US female, kal16: US male diphones), so they sound unlike espeak's
formant synthesis. ``flite -psdur`` prints every segment with its end time, in the CMU
phone set that ``align.ARPABET_IPA`` already maps to IPA.

The binary comes from Debian's ``flite`` and ``libflite1`` packages, unpacked like the
recorded speech (``realspeech.package_root``: ``apt-get download flite libflite1`` in the
packages folder) and run with its libraries on ``LD_LIBRARY_PATH``; a ``flite`` on PATH
(the package installed) works too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ...audio.types import SAMPLE_RATE
from . import corpus, realspeech
from .align import ARPABET_IPA
from .augment import silence
from .speech import PhonemeEvent, SpeechClip

VOICES: tuple[str, ...] = ("awb", "rms", "slt", "kal16")
_PACKAGES = ("flite", "libflite1")
_EXTRA_IPA = {"ax": "ə", "axr": "ɚ"}  # flite's reduced vowels beside CMU's phones
_PAUSE = "pau"


@dataclass(frozen=True)
class Flite:
    exe: Path
    lib_dir: Path | None  # for LD_LIBRARY_PATH when unpacked, None when installed


@cache
def find_flite(folder: Path | None, download: bool = False) -> Flite:
    """flite unpacked in ``folder`` (see the module doc), else the one on PATH."""
    if folder is not None:
        roots = [realspeech.package_root(p, folder, download) for p in _PACKAGES]
        libs = next(roots[1].glob("usr/lib/*/libflite.so.1"), None)
        return Flite(roots[0] / "usr/bin/flite", libs.parent if libs else None)
    found = shutil.which("flite")
    if found is None:
        raise realspeech.RealSpeechMissing(
            "flite is not installed",
            hint="apt-get download flite libflite1 into the "
            "--real-speech folder, or apt-get install flite",
        )
    return Flite(Path(found), None)


def parse_segments(text: str) -> list[PhonemeEvent]:
    """'pau:0.193 p:0.322 ao:0.417' -> phonemes (IPA) with start and end; pauses dropped."""
    out, start = [], 0.0
    for item in text.split():
        name, _, end_text = item.rpartition(":")
        end = float(end_text)
        if name != _PAUSE and end > start:
            out.append(PhonemeEvent(_EXTRA_IPA.get(name) or ARPABET_IPA[name.upper()], start, end))
        start = end
    return out


def synthesize(text: str, voice: str, flite: Flite, stretch: float = 1.0) -> SpeechClip:
    """``text`` spoken by a flite ``voice`` (``VOICES``), durations scaled by ``stretch``."""
    env = dict(os.environ)
    if flite.lib_dir is not None:
        env["LD_LIBRARY_PATH"] = f"{flite.lib_dir}:{env.get('LD_LIBRARY_PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="moda-flite-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = [
            str(flite.exe),
            "-voice",
            voice,
            "-psdur",
            "--setf",
            f"duration_stretch={stretch}",
            "-t",
            text,
            "-o",
            str(wav),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"flite failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
        samples = realspeech.decode_file(wav)
    return SpeechClip(
        samples=samples, phonemes=parse_segments(proc.stdout), text=text, voice=f"flite-{voice}"
    )


def flite_speech(
    voices: Sequence[str],
    flite: Flite,
    target_s: float,
    pause_s: tuple[float, float],
    edge_s: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[PhonemeEvent], dict]:
    """Training sentences (English, train split) in one flite voice with pauses."""
    voice = str(rng.choice(list(voices)))
    pool = corpus.sentences("en", "train")
    stretch = float(rng.uniform(0.8, 1.3))
    parts = [silence(rng.uniform(*edge_s))]
    t = len(parts[0]) / SAMPLE_RATE
    phonemes: list[PhonemeEvent] = []
    texts: list[str] = []
    while t < target_s - edge_s[1] or not texts:
        if texts:
            gap = silence(rng.uniform(*pause_s))
            parts.append(gap)
            t += len(gap) / SAMPLE_RATE
        text = pool[int(rng.integers(len(pool)))]
        clip = synthesize(text, voice, flite, stretch * rng.uniform(0.9, 1.1))
        phonemes += [PhonemeEvent(p.ipa, p.start_s + t, p.end_s + t) for p in clip.phonemes]
        parts.append(clip.samples)
        texts.append(text)
        t += clip.duration_s
    parts.append(silence(rng.uniform(*edge_s)))
    meta = {"language": "en", "voice": f"flite-{voice}", "sentences": texts, "stretch": stretch}
    return np.concatenate(parts).astype(np.float32), phonemes, meta
