"""Regenerate the sample speech files next to this script (16 kHz mono 16-bit WAV).

    python samples/make_samples.py

astronaut.wav      English, ~7.5 s: two sentences with a pause between, silence at both ends.
astronaut__de.wav  German, ~5 s.

Made with espeak-ng (shipped in the espeakng-loader wheel) and no augmentation, so anyone
can rebuild them offline; the output is deterministic for a given espeak-ng build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moda_cli.audio.types import SAMPLE_RATE  # noqa: E402
from moda_cli.motion.train.augment import silence  # noqa: E402
from moda_cli.motion.train.speech import synthesize  # noqa: E402

HERE = Path(__file__).resolve().parent

# (file name, voice, words per minute, [(text, pause after in seconds)], lead-in seconds)
SAMPLES = (
    ("astronaut.wav", "en-us", 160, [
        ("Hello! My name is Bob, and I am an astronaut.", 0.9),
        ("From space, our blue planet looks beautiful.", 0.6),
    ], 0.5),
    ("astronaut__de.wav", "de", 150, [
        ("Guten Tag! Ich bin Astronaut.", 0.6),
        ("Die Erde ist wunderbar.", 0.5),
    ], 0.4),
)


def make(voice: str, rate: int, parts: list[tuple[str, float]], lead_s: float) -> np.ndarray:
    chunks = [silence(lead_s)]
    for text, pause_s in parts:
        chunks += [synthesize(text, voice, rate_wpm=rate).samples, silence(pause_s)]
    x = np.concatenate(chunks)
    return x * (0.8 / (np.abs(x).max() + 1e-9))  # -2 dBFS peak


def main() -> None:
    for name, voice, rate, parts, lead in SAMPLES:
        x = make(voice, rate, parts, lead)
        wavfile.write(HERE / name, SAMPLE_RATE, np.round(x * 32767).astype(np.int16))
        print(f"{name}: {len(x) / SAMPLE_RATE:.2f} s")


if __name__ == "__main__":
    main()
