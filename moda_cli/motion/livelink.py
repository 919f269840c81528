"""Live Link Face's CSV: motion as ARKit blendshapes and angles, written and read.

The layout: ``Timecode``, ``BlendShapeCount`` (61), the 52 ARKit blendshapes in
UpperCamel in the order Live Link Face writes them (Apple's, except that ``JawRight``
comes before ``JawLeft`` and ``MouthRight`` before ``MouthLeft``), then ``HeadYaw,
HeadPitch, HeadRoll`` and each eye's ``Yaw, Pitch, Roll`` in radians. ``Timecode`` is
``HH:MM:SS:FF.fff``: FF the frame within the second at the timecode's rate, ``.fff``
thousandths of a frame (Live Link Face's sub-frame). moda writes it from 00:00:00:00.000
at the video's frame rate (rounded up to a whole number for a fractional one, frames then
land between timecode frames). Reading, the rate is one more than the largest FF of the
file, which needs the file to cross a second boundary; a file shorter than that is read
at 60, Live Link Face's recording rate.

Reading takes any subset of those columns in any order (names matched without case,
Apple's lowerCamel too), so a hand-written file with a few curves works; absent columns
are 0. Unknown columns, a missing ``Timecode``, a value that is not a finite number, or
no rows are a ``CsvError`` naming the line and the column (``motionfile`` adds the file).
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from ..facemodel.arkit import (
    BLENDSHAPE_NAMES,
    BLENDSHAPES,
    GAZE_CHANNELS,
    HEAD_CHANNELS,
    ArkitFrames,
    upper_camel,
)
from ..facemodel.params import MotionSeq

# Live Link Face's CSV: two pairs in another order than Apple's list.
_SWAPPED = {"jawLeft": "jawRight", "jawRight": "jawLeft",
            "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}  # fmt: skip
LIVE_LINK_ORDER: tuple[str, ...] = tuple(_SWAPPED.get(n, n) for n in BLENDSHAPE_NAMES)
# The CSV's angle columns and the ArkitFrames channels they are (radians there, degrees here).
CSV_ANGLES: tuple[tuple[str, str], ...] = (
    ("HeadYaw", "headYaw"), ("HeadPitch", "headPitch"), ("HeadRoll", "headRoll"),
    *((upper_camel(c.name), c.name) for c in GAZE_CHANNELS),
)  # fmt: skip
CSV_HEADER: tuple[str, ...] = (
    "Timecode", "BlendShapeCount",
    *(upper_camel(n) for n in LIVE_LINK_ORDER), *(c for c, _ in CSV_ANGLES),
)  # fmt: skip
LIVE_LINK_RATE = 60  # Live Link Face records at 60 fps
_TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d)[:;](\d+)(?:\.(\d+))?$")
_SHAPE_COL = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
_HEAD_COL = {c.name: i for i, c in enumerate(HEAD_CHANNELS)}
_GAZE_COL = {c.name: i for i, c in enumerate(GAZE_CHANNELS)}


class CsvError(ValueError):
    """What is wrong in a CSV's text, naming the line and the column."""


def timecode(frame: int, fps: float) -> str:
    """``HH:MM:SS:FF.fff`` of ``frame`` at ``fps``: timecode frames at fps rounded up to
    a whole rate, thousandths of one after the dot."""
    rate = math.ceil(fps - 1e-6)
    milli = round(frame * rate / fps * 1000)  # thousandths of a timecode frame
    seconds, rest = divmod(milli, rate * 1000)
    hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def motion_csv(motion: MotionSeq, arkit: ArkitFrames) -> str:
    """Live Link Face's CSV layout (the module doc) of ``motion``'s ARKit view ``arkit``."""
    shapes = arkit.blendshapes[:, [_SHAPE_COL[n] for n in LIVE_LINK_ORDER]]
    angles = np.hstack([arkit.head[:, [_HEAD_COL[n] for _, n in CSV_ANGLES[:3]]], arkit.gaze])
    values = np.hstack([shapes, np.deg2rad(angles)])
    count = str(len(CSV_HEADER) - 2)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for k, row in enumerate(values.tolist()):
        writer.writerow([timecode(k, motion.fps), count, *(f"{v:.6f}" for v in row)])
    return buffer.getvalue()


def _csv_columns(header: list[str]) -> dict[str, int]:
    """Canonical column name -> position; unknown or missing columns are errors. A column
    without a name (a trailing comma on every line) is left out."""
    known = {c.lower(): c for c in CSV_HEADER}  # Apple's lowerCamel matches too
    names = [h.strip() for h in header]
    unknown = [h for h in names if h and h.lower() not in known]
    if unknown:
        raise CsvError(
            f"unknown column(s) {', '.join(unknown[:5])}; a Live Link "
            "Face CSV has Timecode, BlendShapeCount, the 52 ARKit "
            "blendshapes (EyeBlinkLeft ... TongueOut) and HeadYaw ... "
            "RightEyeRoll"
        )
    columns = {known[h.lower()]: i for i, h in enumerate(names) if h}
    if "Timecode" not in columns:
        raise CsvError("missing column Timecode")
    if not set(columns) - {"Timecode", "BlendShapeCount"}:
        raise CsvError("no motion columns (blendshapes or head angles)")
    return columns


def read_csv(text: str) -> tuple[np.ndarray, ArkitFrames]:
    """(N,) seconds from the first row and the ARKit frames of a Live Link Face CSV
    (the module doc); CsvError naming the line and the column."""
    try:
        table = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise CsvError(f"not a CSV ({exc})") from None
    if not table:
        raise CsvError("empty file")
    header, rows = table[0], table[1:]
    columns = _csv_columns(header)
    if not rows:
        raise CsvError("no rows after the header")
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise CsvError(f"line {n} has {len(row)} values for {len(header)} columns")
    times = _times([row[columns["Timecode"]] for row in rows])
    data = {name: _csv_column(rows, name, i) for name, i in columns.items()
            if name not in ("Timecode", "BlendShapeCount")}  # fmt: skip
    frames = ArkitFrames.zeros(len(rows))
    for shape in BLENDSHAPES:
        if upper_camel(shape.name) in data:
            frames.blendshapes[:, _SHAPE_COL[shape.name]] = data[upper_camel(shape.name)]
    for column, channel in CSV_ANGLES:
        if column in data:
            target, col = (
                (frames.head, _HEAD_COL) if channel in _HEAD_COL else (frames.gaze, _GAZE_COL)
            )
            target[:, col[channel]] = np.rad2deg(_radians(column, data[column]))
    return times, frames


def _csv_column(rows: list[list[str]], name: str, col: int) -> np.ndarray:
    """(N,) float64 values of one column; a value that is not a number names its line."""
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        try:
            out[n] = float(row[col])
        except ValueError:
            out[n] = math.nan
        if not math.isfinite(out[n]):
            raise CsvError(f"line {n + 2}, column {name}: {row[col][:30]!r} is not a finite number")
    return out


def _radians(column: str, values: np.ndarray) -> np.ndarray:
    """Live Link Face writes angles in radians; degrees in such a column are an error."""
    worst = float(np.abs(values).max())
    if worst > math.pi:
        raise CsvError(
            f"{column} reaches {worst:g}; angles are in radians "
            "(|angle| <= pi), as Live Link Face writes them"
        )
    return values


def _times(codes: list[str]) -> np.ndarray:
    """(N,) seconds from the first row of ``HH:MM:SS:FF.fff`` timecodes (the module doc)."""
    parts = []
    for n, code in enumerate(codes):
        match = _TIMECODE.match(code.strip())
        if match is None:
            raise CsvError(f"line {n + 2}: Timecode {code[:30]!r} is not HH:MM:SS:FF.fff")
        h, m, s, ff, sub = match.groups()
        parts.append((int(h) * 3600 + int(m) * 60 + int(s), int(ff) + float(f"0.{sub or 0}")))
    seconds = np.array([p[0] for p in parts], np.float64)
    frames = np.array([p[1] for p in parts], np.float64)
    crossed = np.unique(seconds).size > 1
    rate = int(frames.max()) + 1 if crossed else LIVE_LINK_RATE
    times = seconds + frames / rate
    times = times + 86400.0 * np.cumsum(np.diff(times, prepend=times[0]) < -43200)  # midnight
    if np.any(np.diff(times) < 0):
        line = int(np.argmax(np.diff(times) < 0)) + 3
        raise CsvError(f"line {line}: Timecode goes back in time")
    return times - times[0]
