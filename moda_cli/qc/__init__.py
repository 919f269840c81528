"""`moda qc`: judge a rendered talking-head video from its pixels, with a fresh face mesh.

Stages: 1. references (portrait lips and scene, or the first frames), 2. one decode with
a face mesh in video mode (``measure``), 3. figures against thresholds (``figures``,
``report``), 4. optionally a contact sheet (``sheet``: a second decode).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..face.settings import MAX_SIDE
from .figures import background_qc, blink_qc, frame_loudness, lip_qc, mouth_qc
from .measure import FrameSeries, measure_video
from .report import QCReport, Thresholds, judge
from .sheet import contact_sheet, write_png

__all__ = ["QCReport", "Thresholds", "run_qc"]


def run_qc(
    video: str | Path,
    *,
    portrait: np.ndarray | str | Path | None = None,
    audio: str | Path | None = None,
    sheet: str | Path | None = None,
    thresholds: Thresholds | None = None,
    max_side: int = MAX_SIDE,
) -> QCReport:
    """Measure ``video``; ``portrait`` the (H, W, 3) RGB image or the file it animates
    (a file is read as a render reads it, at most ``max_side`` pixels); ``audio`` its speech.

    Writes the contact sheet PNG to ``sheet`` if given. The report's ``flags`` list every
    figure outside ``thresholds``.
    """
    if isinstance(portrait, (str, Path)):
        from ..face.image_io import load_portrait

        portrait = load_portrait(portrait, max_side).image
    limits = thresholds or Thresholds()
    series, refs = measure_video(video, portrait)
    loudness = None if audio is None else frame_loudness(audio, series.fps, len(series))
    found = bool(series.detected.any())
    report = QCReport(
        video=str(video),
        frames=len(series),
        fps=series.fps,
        face_found=float(np.mean(series.detected)) if len(series) else 0.0,
        mouth=mouth_qc(series, loudness) if found else None,
        lips=lip_qc(series, refs, limits) if found else None,
        blinks=blink_qc(series) if found else None,
        background=background_qc(series, refs),
        thresholds=limits,
    )
    report.flags = judge(report)
    if sheet is not None:
        write_png(contact_sheet(video, series, refs), sheet)
    return report


def measure(video: str | Path, portrait: np.ndarray | None = None) -> FrameSeries:
    """The per-frame series alone (for tests and custom figures)."""
    return measure_video(video, portrait)[0]
