"""Motion files: the motion a render used, written out; and motion read in instead of sampled.

Two formats, told apart by the file's extension:

* ``.json``, moda's own: ``fps``, the 58 channels of the joint motion space (the head
  pose and ARKit's 52 blendshapes, ``facemodel.params``) with their units, one row per
  frame, written so that every float32 reads back bit for bit (the double each one is,
  in its shortest round-tripping form).
* ``.csv``, Live Link Face's layout (``livelink``: the 52 ARKit blendshapes, head and eye
  angles, timecodes), of which any subset of the columns is read; an error in it names
  the file, the line and the column (exit code 2).

Played back, a file's motion is resampled to the video's frame rate (linear in time; the
rows as they are when the rates match) and cut, or its last row held, to the audio's
length (``MotionTrack.at_fps``). Every channel goes on to the motion file that render
writes, those the renderer does not show yet (``basis.rendered_shapes``) too.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..atomic import atomic_write
from ..errors import UsageError
from ..facemodel.basis import rendered_shapes
from ..facemodel.params import EXPRESSION_SLICE, PARAM_NAMES, PARAM_SPECS, MotionSeq
from .generator import MotionRequest, ProgressFn
from .livelink import CsvError, motion_csv, read_csv

SUFFIXES = (".json", ".csv")
FORMAT, VERSION = "moda-motion", 2  # 1: the 17 core channels (no longer read)
HINT = "see the README's 'Motion files'"


def motion_error(path: Path, cause: str) -> UsageError:
    return UsageError(f"motion file: {cause}", path=path, hint=HINT)


@dataclass
class MotionTrack:
    """Motion read from a file.

    times:      (N,) seconds of each row from the first, non-decreasing
    params:     (N, 58) float32 joint motion (``facemodel.params``)
    fps:        the rows' frame rate when the file states one (moda's JSON), else None
    """

    times: np.ndarray
    params: np.ndarray
    fps: float | None = None

    @property
    def unrendered(self) -> tuple[str, ...]:
        """The blendshapes that move but that the renderer does not show yet."""
        shown = rendered_shapes()
        moves = np.any(self.params[:, EXPRESSION_SLICE] != 0, axis=0)
        names = PARAM_NAMES[EXPRESSION_SLICE]
        return tuple(n for n, m in zip(names, moves, strict=True) if m and n not in shown)

    def at_fps(self, fps: float, frames: int) -> np.ndarray:
        """(frames, 58) float32 rows at ``fps``: resampled (the file's own rows when its
        rate is ``fps``), cut to ``frames`` or the last row held."""
        if self.fps == fps:
            rows = self.params[np.minimum(np.arange(frames), len(self.params) - 1)]
            return np.ascontiguousarray(rows, np.float32)
        t = np.arange(frames) / fps
        columns = [np.interp(t, self.times, column) for column in self.params.T]
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


def write_motion(path: Path, motion: MotionSeq) -> None:
    """``motion`` as ``path``'s format (.json or .csv), written atomically."""
    csv = path.suffix.lower() == ".csv"
    atomic_write(path, motion_csv(motion) if csv else motion_json(motion))


def _exact(value: float) -> str:
    """A float32 as the shortest text of its double: float() of it gives the same bits."""
    return repr(float(value))


def _rows(values: np.ndarray) -> str:
    """(N, C) as a JSON list of lists, one row per line (inside the top-level object)."""
    lines = ("    [" + ", ".join(_exact(v) for v in row) + "]" for row in values.tolist())
    return "[\n" + ",\n".join(lines) + "\n  ]"


def motion_json(motion: MotionSeq) -> str:
    """moda's own format: the exact motion."""
    fields = [
        ("format", json.dumps(FORMAT)),
        ("version", json.dumps(VERSION)),
        ("fps", json.dumps(float(motion.fps))),
        ("frames", json.dumps(motion.num_frames)),
        ("channels", json.dumps(list(PARAM_NAMES))),
        ("units", json.dumps({s.name: s.unit for s in PARAM_SPECS})),
        ("motion", _rows(motion.params)),
    ]
    body = ",\n".join(f"  {json.dumps(key)}: {text}" for key, text in fields)
    return "{\n" + body + "\n}\n"


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
    return MotionTrack(np.arange(len(params)) / float(fps), params, float(fps))


def _json_rows(path: Path, rows: Any, channels: list[str]) -> np.ndarray:
    """(N, C) float64 of the "motion" rows; an error names the first bad row."""
    if not isinstance(rows, list) or not rows:
        raise motion_error(path, "motion: no rows")
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
            raise motion_error(path, f"motion row {n} is not {len(channels)} finite numbers: "
                                     f"{str(row)[:80]}")  # fmt: skip
    raise motion_error(path, "motion: rows are not numbers")


def _finite_number(value: Any) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def _read_csv(path: Path, text: str) -> MotionTrack:
    try:
        times, params = read_csv(text)
    except CsvError as exc:
        raise motion_error(path, str(exc)) from None
    return MotionTrack(times, params)
