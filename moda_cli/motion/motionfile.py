"""Motion files: the motion a render used, written out; and motion read in instead of sampled.

Two formats, told apart by the file's extension:

* ``.json``, moda's own: ``fps``, the 17 channels of the joint motion space with their
  units, one row per frame, written so that every float32 reads back bit for bit (the
  double each one is, in its shortest round-tripping form); plus an ``arkit`` view of the
  same motion (``facemodel.arkit.to_arkit``, 6 decimals) for other tools, of which moda
  reads back only the channels it does not render (below).
* ``.csv``, Live Link Face's layout: ``Timecode``, ``BlendShapeCount`` (61), the 52 ARKit
  blendshapes in UpperCamel in the order Live Link Face writes them (Apple's, except that
  ``JawRight`` comes before ``JawLeft`` and ``MouthRight`` before ``MouthLeft``), then
  ``HeadYaw, HeadPitch, HeadRoll`` and each eye's ``Yaw, Pitch, Roll`` in radians.
  ``Timecode`` is ``HH:MM:SS:FF.fff``: FF the frame within the second at the timecode's
  rate, ``.fff`` thousandths of a frame (Live Link Face's sub-frame). moda writes it from
  00:00:00:00.000 at the video's frame rate (rounded up to a whole number for a fractional
  one, frames then land between timecode frames). Reading, the rate is one more than the
  largest FF of the file, which needs the file to cross a second boundary; a file shorter
  than that is read at 60, Live Link Face's recording rate.

Reading a CSV takes any subset of those columns in any order (names matched without case,
Apple's lowerCamel too), so a hand-written file with a few curves works; absent columns
are 0. Unknown columns, a missing ``Timecode``, a value that is not a finite number, or
no rows are errors naming the file, the line and the column (exit code 2).

Played back, a file's motion is resampled to the video's frame rate (linear in time; the
rows as they are when the rates match) and cut, or its last row held, to the audio's
length (``MotionTrack.at_fps``). The ARKit channels moda does not render yet
(``arkit.NOT_RENDERED``: gaze, cheek puff, ...) are carried on, resampled the same way,
to the motion file that render writes; sampled motion has them at 0.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..atomic import atomic_write
from ..errors import UsageError
from ..facemodel.arkit import (
    BLENDSHAPE_NAMES,
    BLENDSHAPES,
    GAZE_CHANNELS,
    HEAD_CHANNELS,
    NOT_RENDERED,
    ArkitFrames,
    from_arkit,
    to_arkit,
    upper_camel,
)
from ..facemodel.params import PARAM_NAMES, PARAM_SPECS, MotionSeq
from .generator import MotionRequest, ProgressFn

SUFFIXES = (".json", ".csv")
FORMAT, VERSION = "moda-motion", 1
HINT = "see the README's 'Motion files'"

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


def motion_error(path: Path, cause: str) -> UsageError:
    return UsageError(f"motion file: {cause}", path=path, hint=HINT)


@dataclass
class MotionTrack:
    """Motion read from a file.

    times:      (N,) seconds of each row from the first, non-decreasing
    params:     (N, 17) float32 moda motion (``facemodel.params``)
    fps:        the rows' frame rate when the file states one (moda's JSON), else None
    carried:    (N, len(NOT_RENDERED)) float32 ARKit channels moda does not render yet,
                carried on to a motion file the render writes; None when the file has none
    """

    times: np.ndarray
    params: np.ndarray
    fps: float | None = None
    carried: np.ndarray | None = None

    @property
    def unrendered(self) -> tuple[str, ...]:
        """The channels of ``carried`` that move: what the video will not show."""
        if self.carried is None:
            return ()
        moves = np.any(self.carried != 0, axis=0)
        return tuple(name for name, m in zip(NOT_RENDERED, moves, strict=True) if m)

    def at_fps(self, fps: float, frames: int) -> np.ndarray:
        """(frames, 17) float32 rows at ``fps``: resampled (the file's own rows when its
        rate is ``fps``), cut to ``frames`` or the last row held."""
        return self._resampled(self.params, fps, frames)

    def carried_at_fps(self, fps: float, frames: int) -> np.ndarray | None:
        """``carried`` as ``at_fps`` gives the rows."""
        return None if self.carried is None else self._resampled(self.carried, fps, frames)

    def _resampled(self, values: np.ndarray, fps: float, frames: int) -> np.ndarray:
        if self.fps == fps:
            rows = values[np.minimum(np.arange(frames), len(values) - 1)]
            return np.ascontiguousarray(rows, np.float32)
        t = np.arange(frames) / fps
        columns = [np.interp(t, self.times, values[:, c]) for c in range(values.shape[1])]
        return np.stack(columns, axis=1).astype(np.float32)


class FileMotion:
    """A ``MotionGenerator`` that plays a motion file back instead of sampling."""

    name = "motion file"

    def __init__(self, track: MotionTrack) -> None:
        self.track = track

    def generate(self, request: MotionRequest, progress: ProgressFn | None = None) -> MotionSeq:
        feats = request.features
        rows = self.track.at_fps(feats.fps, feats.num_frames)
        if progress is not None:
            progress(feats.num_frames, feats.num_frames)
        return MotionSeq(rows, feats.fps)

    def stream(
        self, request: MotionRequest, progress: ProgressFn | None = None
    ) -> Iterator[np.ndarray]:
        yield self.generate(request, progress).params


# ---- checks --------------------------------------------------------------------------


def check_motion_path(path: Path, role: Literal["in", "out"]) -> None:
    """``role`` "in": an existing .json or .csv file; "out": a name that can be written."""
    if path.suffix.lower() not in SUFFIXES:
        raise motion_error(path, "its name must end in .json or .csv")
    if path.is_dir():
        raise motion_error(path, "a folder is in the way, expected a file")
    if role == "in" and not path.is_file():
        raise motion_error(path, "file not found")


# ---- writing -------------------------------------------------------------------------


def write_motion(path: Path, motion: MotionSeq, carried: np.ndarray | None = None) -> None:
    """``motion`` as ``path``'s format (.json or .csv), written atomically; ``carried``:
    (T, len(NOT_RENDERED)) values of the ARKit channels moda does not render (else 0)."""
    view = to_arkit(motion.params)
    if carried is not None:
        view.carry(carried)
    if path.suffix.lower() == ".csv":
        atomic_write(path, motion_csv(motion, view))
    else:
        atomic_write(path, motion_json(motion, view))


def _exact(value: float) -> str:
    """A float32 as the shortest text of its double: float() of it gives the same bits."""
    return repr(float(value))


def _short(value: float) -> str:
    return repr(round(float(value), 6))


def _rows(values: np.ndarray, fmt: Callable[[float], str], indent: str) -> str:
    """(N, C) as a JSON list of lists, one row per line."""
    lines = (f"{indent}  [" + ", ".join(fmt(v) for v in row) + "]" for row in values.tolist())
    return "[\n" + ",\n".join(lines) + f"\n{indent}]"


def _object(fields: list[tuple[str, str]], indent: str) -> str:
    """A JSON object of already written values, one field per line."""
    body = ",\n".join(f"{indent}  {json.dumps(key)}: {text}" for key, text in fields)
    return "{\n" + body + f"\n{indent}}}"


def motion_json(motion: MotionSeq, arkit: ArkitFrames) -> str:
    """moda's own format: the exact motion, and ``arkit``, its ARKit view."""
    view = np.hstack([arkit.blendshapes, arkit.head, arkit.gaze])
    names = [*BLENDSHAPE_NAMES, *(c.name for c in (*HEAD_CHANNELS, *GAZE_CHANNELS))]
    arkit_fields = [
        ("note", json.dumps("the motion in ARKit's vocabulary (moda_cli/facemodel/arkit.py), "
                            "for other tools; moda reads back only the not_rendered channels")),
        ("channels", json.dumps(names)),
        ("units", json.dumps({c.name: c.unit for c in (*HEAD_CHANNELS, *GAZE_CHANNELS)})),
        ("not_rendered", json.dumps(list(NOT_RENDERED))),
        ("frames", _rows(view, _short, "    ")),
    ]  # fmt: skip
    fields = [
        ("format", json.dumps(FORMAT)),
        ("version", json.dumps(VERSION)),
        ("fps", json.dumps(float(motion.fps))),
        ("frames", json.dumps(motion.num_frames)),
        ("channels", json.dumps(list(PARAM_NAMES))),
        ("units", json.dumps({s.name: s.unit for s in PARAM_SPECS})),
        ("motion", _rows(motion.params, _exact, "  ")),
        ("arkit", _object(arkit_fields, "  ")),
    ]
    return _object(fields, "") + "\n"


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


# ---- reading -------------------------------------------------------------------------


def read_motion(path: Path) -> MotionTrack:
    """The motion in ``path`` (.json or .csv); UsageError naming the file and the cause.
    Cached by path, size and time: a batch may drive many portraits with one file."""
    check_motion_path(path, "in")
    stat = os.stat(path)
    return _read(path, path.resolve(), (stat.st_size, stat.st_mtime_ns))


@lru_cache(maxsize=4)
def _read(path: Path, _resolved: Path, _stamp: tuple[int, int]) -> MotionTrack:
    """``path`` as given, for the messages; the file's resolved path and stamp key the cache."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise motion_error(path, f"cannot read it: {exc}") from None
    if path.suffix.lower() == ".csv":
        return _read_csv(path, text)
    return _read_json(path, text)


def _read_json(path: Path, text: str) -> MotionTrack:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise motion_error(path, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise motion_error(path, f'not a moda motion file (no "format": "{FORMAT}")')
    if doc.get("version") != VERSION:
        raise motion_error(path, f"version {doc.get('version')!r}; this moda reads {VERSION}")
    fps = doc.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1000:
        raise motion_error(path, f"fps {fps!r} is not a frame rate")
    channels = doc.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise motion_error(path, '"channels" must be a list of names')
    unknown = [c for c in channels if c not in PARAM_NAMES]
    missing = [c for c in PARAM_NAMES if c not in channels]
    if unknown or missing:
        raise motion_error(path, f"channels: unknown {unknown}, missing {missing}")
    values = _json_rows(path, doc.get("motion"), channels)
    params = values[:, [channels.index(n) for n in PARAM_NAMES]].astype(np.float32)
    carried = _json_carried(path, doc.get("arkit"), len(params))
    return MotionTrack(np.arange(len(params)) / float(fps), params, float(fps), carried)


def _json_carried(path: Path, view: Any, frames: int) -> np.ndarray | None:
    """The ARKit view's channels moda does not render, (N, len(NOT_RENDERED)) float32;
    None without a view. Its other channels restate "motion" and are not read."""
    if view is None:
        return None
    names = view.get("channels") if isinstance(view, dict) else None
    if not isinstance(names, list) or not set(NOT_RENDERED) <= set(names):
        raise motion_error(path, '"arkit" must list its "channels", every ARKit one')
    values = _json_rows(path, view.get("frames"), names, "arkit frames")
    if len(values) != frames:
        raise motion_error(path, f'"arkit" has {len(values)} frames, "motion" {frames}')
    return values[:, [names.index(n) for n in NOT_RENDERED]].astype(np.float32)


def _json_rows(path: Path, rows: Any, channels: list[str], what: str = "motion") -> np.ndarray:
    """(N, C) float64 of the rows ``what`` names; an error names the first bad row."""
    if not isinstance(rows, list) or not rows:
        raise motion_error(path, f"{what}: no rows")
    try:
        values = np.array(rows)
    except ValueError:  # rows of different lengths
        values = np.array([])
    shaped = values.ndim == 2 and values.shape[1] == len(channels)
    if shaped and values.dtype.kind in "iuf" and np.isfinite(values).all():
        return values.astype(np.float64)
    for n, row in enumerate(rows, 1):
        ok = isinstance(row, list) and len(row) == len(channels)
        if not ok or not all(_finite_number(v) for v in row):
            raise motion_error(path, f"{what} row {n} is not {len(channels)} finite numbers: "
                                     f"{str(row)[:80]}")  # fmt: skip
    raise motion_error(path, f"{what}: rows are not numbers")


def _finite_number(value: Any) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def _csv_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Canonical column name -> position; unknown or missing columns are errors. A column
    without a name (a trailing comma on every line) is left out."""
    known = {c.lower(): c for c in CSV_HEADER}  # Apple's lowerCamel matches too
    names = [h.strip() for h in header]
    unknown = [h for h in names if h and h.lower() not in known]
    if unknown:
        raise motion_error(path, f"unknown column(s) {', '.join(unknown[:5])}; a Live Link "
                                 "Face CSV has Timecode, BlendShapeCount, the 52 ARKit "
                                 "blendshapes (EyeBlinkLeft ... TongueOut) and HeadYaw ... "
                                 "RightEyeRoll")  # fmt: skip
    columns = {known[h.lower()]: i for i, h in enumerate(names) if h}
    if "Timecode" not in columns:
        raise motion_error(path, "missing column Timecode")
    if not set(columns) - {"Timecode", "BlendShapeCount"}:
        raise motion_error(path, "no motion columns (blendshapes or head angles)")
    return columns


def _read_csv(path: Path, text: str) -> MotionTrack:
    try:
        table = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise motion_error(path, f"not a CSV ({exc})") from None
    if not table:
        raise motion_error(path, "empty file")
    header, rows = table[0], table[1:]
    columns = _csv_columns(path, header)
    if not rows:
        raise motion_error(path, "no rows after the header")
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise motion_error(path, f"line {n} has {len(row)} values for {len(header)} columns")
    times = _times(path, [row[columns["Timecode"]] for row in rows])
    data = {name: _csv_column(path, rows, name, i) for name, i in columns.items()
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
            target[:, col[channel]] = np.rad2deg(_radians(path, column, data[column]))
    return MotionTrack(times, from_arkit(frames), None, frames.unrendered.astype(np.float32))


def _csv_column(path: Path, rows: list[list[str]], name: str, col: int) -> np.ndarray:
    """(N,) float64 values of one column; a value that is not a number names its line."""
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        try:
            out[n] = float(row[col])
        except ValueError:
            out[n] = math.nan
        if not math.isfinite(out[n]):
            raise motion_error(path, f"line {n + 2}, column {name}: {row[col][:30]!r} is not "
                                     "a finite number")  # fmt: skip
    return out


def _radians(path: Path, column: str, values: np.ndarray) -> np.ndarray:
    """Live Link Face writes angles in radians; degrees in such a column are an error."""
    worst = float(np.abs(values).max())
    if worst > math.pi:
        raise motion_error(path, f"{column} reaches {worst:g}; angles are in radians "
                                 "(|angle| <= pi), as Live Link Face writes them")  # fmt: skip
    return values


def _times(path: Path, codes: list[str]) -> np.ndarray:
    """(N,) seconds from the first row of ``HH:MM:SS:FF.fff`` timecodes (the module doc)."""
    parts = []
    for n, code in enumerate(codes):
        match = _TIMECODE.match(code.strip())
        if match is None:
            raise motion_error(path, f"line {n + 2}: Timecode {code[:30]!r} is not "
                                     "HH:MM:SS:FF.fff")  # fmt: skip
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
        raise motion_error(path, f"line {line}: Timecode goes back in time")
    return times - times[0]
