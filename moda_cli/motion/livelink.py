"""Live Link Face's CSV: joint motion as ARKit blendshapes and angles, written and read.

The layout: ``Timecode``, ``BlendShapeCount`` (61), the 52 ARKit blendshapes in
UpperCamel in the order Live Link Face writes them (Apple's, except that ``JawRight``
comes before ``JawLeft`` and ``MouthRight`` before ``MouthLeft``), then ``HeadYaw,
HeadPitch, HeadRoll`` and each eye's ``Yaw, Pitch, Roll`` in radians. The blendshapes are
the joint space's columns as they are; the head angles its yaw, pitch and roll (roll's
sign flipped: ARKit's is counter-clockwise in the image); the head's shift and scale have
no column. The eye angles are written from the eyeLook shapes (``eye_angles``: 1.0 is
``arkit.EYE_LOOK_DEG`` degrees; yaw positive towards the image's right, pitch positive
down, as the head's; roll 0) and not read back: the eyeLook columns are the gaze. ``Timecode`` is
``HH:MM:SS:FF.fff``: FF the frame within the second at the timecode's rate, ``.fff``
thousandths of a frame (Live Link Face's sub-frame). moda writes it from 00:00:00:00.000
at the video's frame rate (rounded up to a whole number for a fractional one, frames then
land between timecode frames). Reading, the rate is one more than the largest FF of the
file, which needs the file to cross a second boundary; a file shorter than that is read
at 60, Live Link Face's recording rate.

Reading takes any subset of those columns in any order (names matched without case,
Apple's lowerCamel too), so a hand-written file with a few curves works; absent channels
are 0. Unknown columns, a missing ``Timecode``, a value that is not a finite number, or
no rows are a ``CsvError`` naming the line and the column (``motionfile`` adds the file).
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from ..facemodel.arkit import BLENDSHAPE_NAMES, EYE_LOOK_DEG, upper_camel
from ..facemodel.params import NUM_PARAMS, MotionSeq, index, indices

# Live Link Face's CSV: two pairs in another order than Apple's list.
_SWAPPED = {"jawLeft": "jawRight", "jawRight": "jawLeft",
            "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}  # fmt: skip
LIVE_LINK_ORDER: tuple[str, ...] = tuple(_SWAPPED.get(n, n) for n in BLENDSHAPE_NAMES)
# The CSV's head angle columns, the joint column each is and the sign between them.
HEAD_ANGLES: tuple[tuple[str, str, float], ...] = (
    ("HeadYaw", "yaw", 1.0), ("HeadPitch", "pitch", 1.0),
    ("HeadRoll", "roll", -1.0),  # moda's roll is clockwise in the image, ARKit's is not
)  # fmt: skip
EYE_ANGLES = tuple(
    f"{eye}Eye{axis}" for eye in ("Left", "Right") for axis in ("Yaw", "Pitch", "Roll")
)
CSV_HEADER: tuple[str, ...] = (
    "Timecode", "BlendShapeCount", *(upper_camel(n) for n in LIVE_LINK_ORDER),
    *(c for c, _, _ in HEAD_ANGLES), *EYE_ANGLES,
)  # fmt: skip
LIVE_LINK_RATE = 60  # Live Link Face records at 60 fps
_TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d)[:;](\d+)(?:\.(\d+))?$")
_CSV_SHAPES = indices(LIVE_LINK_ORDER)  # joint columns in the CSV's order
_HEAD = indices(tuple(n for _, n, _ in HEAD_ANGLES))
_HEAD_SIGN = np.array([s for _, _, s in HEAD_ANGLES])
# Each eye's (out, in, down, up) eyeLook columns, and the sign of looking out on its yaw.
_EYE_LOOKS = tuple(
    (indices(tuple(f"eyeLook{way}{eye}" for way in ("Out", "In", "Down", "Up"))), sign)
    for eye, sign in (("Left", 1.0), ("Right", -1.0))  # the subject's left eye looks out
)  # to the image's right


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


def eye_angles(params: np.ndarray) -> np.ndarray:
    """(T, 58) joint motion -> (T, 6) degrees, ``EYE_ANGLES``' order: each eye's yaw
    (positive towards the image's right) and pitch (positive down) from its eyeLook
    shapes, roll 0."""
    p = np.asarray(params, np.float64)
    out = np.zeros((len(p), len(EYE_ANGLES)))
    for k, ((look_out, look_in, down, up), sign) in enumerate(_EYE_LOOKS):
        out[:, 3 * k] = sign * EYE_LOOK_DEG * (p[:, look_out] - p[:, look_in])
        out[:, 3 * k + 1] = EYE_LOOK_DEG * (p[:, down] - p[:, up])
    return out


def motion_csv(motion: MotionSeq) -> str:
    """``motion`` in Live Link Face's CSV layout (the module doc)."""
    head = _HEAD_SIGN * motion.params[:, _HEAD]
    angles = np.deg2rad(np.hstack([head, eye_angles(motion.params)]))
    values = np.hstack([motion.params[:, _CSV_SHAPES], angles])
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


def read_csv(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(N,) seconds from the first row and (N, 58) float32 joint motion of a Live Link
    Face CSV (the module doc); CsvError naming the line and the column."""
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
            if name not in ("Timecode", "BlendShapeCount", *EYE_ANGLES)}  # fmt: skip
    params = np.zeros((len(rows), NUM_PARAMS), np.float32)
    for name in BLENDSHAPE_NAMES:
        if upper_camel(name) in data:
            params[:, index(name)] = data[upper_camel(name)]
    for column, channel, sign in HEAD_ANGLES:
        if column in data:
            params[:, index(channel)] = sign * np.rad2deg(_radians(column, data[column]))
    return times, params


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
