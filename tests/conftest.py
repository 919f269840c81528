"""Shared fixtures: a small portrait and speech with a pause, made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from _media import write_wav

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PORTRAIT = ROOT / "samples" / "astronaut.png"


@pytest.fixture(scope="session")
def speech_with_pause(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, float]]:
    """espeak speech, 1.2 s of silence, speech. Returns the wav and the pause (start_s, end_s)."""
    from moda_cli.motion.train.speech import synthesize

    first = synthesize(
        "Hello, my name is Anna, and I bake bread.", voice="en", rate_wpm=170
    ).samples
    second = synthesize("Papa bought a map of Bombay.", voice="en", rate_wpm=170).samples
    lead = np.zeros(int(0.2 * 16_000), np.float32)
    pause = np.zeros(int(1.2 * 16_000), np.float32)
    audio = np.concatenate([lead, first, pause, second, lead])
    path = write_wav(tmp_path_factory.mktemp("audio") / "speech.wav", audio * 0.8)
    start = (len(lead) + len(first)) / 16_000
    return path, (start, start + 1.2)


@pytest.fixture(scope="session")
def small_portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample portrait at 320x300 (odd-free, not square) to keep renders fast."""
    img = cv2.imread(str(SAMPLE_PORTRAIT))
    img = cv2.resize(img, (300, 300), interpolation=cv2.INTER_AREA)
    canvas = np.full((300, 320, 3), 200, np.uint8)
    canvas[:, 10:310] = img
    path = tmp_path_factory.mktemp("img") / "portrait.png"
    cv2.imwrite(str(path), canvas)
    return path
