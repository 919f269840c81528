"""The contact sheet: the widest mouths close up over evenly spaced whole faces.

Each row starts with the reference (the portrait, or the video's first frame), so the
lips and the face can be compared with what they should look like.

A reviewer sees at a glance what the figures summarise: whether the widest openings
still look like lips around a mouth, and whether the face stays the person's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path
from ..ffmpeg import read_frames
from .measure import FrameSeries, References, anchors_of

TILE = 192  # tile width in pixels
MOUTH_BOX = (0.7, 0.525)  # mouth crop width, height in face heights (4:3)
FACE_BOX = 1.5  # face crop side in face heights
_WHITE, _BLACK = (255, 255, 255), (0, 0, 0)


def widest_frames(series: FrameSeries, n: int) -> list[int]:
    """Up to ``n`` frames with the largest inner-lip gap, at least a fifth of a second apart."""
    apart = max(1, round(0.2 * series.fps))
    picked: list[int] = []
    for i in np.argsort(-np.nan_to_num(series.gap, nan=-1.0)):
        if not series.detected[i] or len(picked) == n:
            break
        if all(abs(int(i) - j) >= apart for j in picked):
            picked.append(int(i))
    return sorted(picked)


def spaced_frames(series: FrameSeries, n: int) -> list[int]:
    """``n`` evenly spaced frames with a face (the nearest one with a face to each)."""
    found = np.flatnonzero(series.detected)
    if not len(found):
        return []
    targets = np.linspace(0, len(series) - 1, n)
    return sorted({int(found[np.argmin(np.abs(found - t))]) for t in targets})


def _tile(
    frame: np.ndarray, centre: np.ndarray, size: tuple[float, float], label: str
) -> np.ndarray:
    """Crop (w, h) pixels around ``centre`` (edges replicated), scale to TILE wide, label."""
    w, h = max(2, round(size[0])), max(2, round(size[1]))
    crop = cv2.getRectSubPix(frame, (w, h), (float(centre[0]), float(centre[1])))
    # The tile's height from the box's shape, not the rounded crop's: one row of tiles.
    tile = cv2.resize(crop, (TILE, round(TILE * size[1] / size[0])), interpolation=cv2.INTER_AREA)
    for colour, thickness in ((_BLACK, 3), (_WHITE, 1)):  # outlined: readable on any colour
        cv2.putText(
            tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thickness, cv2.LINE_AA
        )
    return tile


def _row(tiles: list[np.ndarray], count: int) -> np.ndarray:
    """Tiles side by side, padded with grey to ``count`` tiles."""
    h = tiles[0].shape[0]
    blank = np.full((h, TILE, 3), 64, np.uint8)
    return np.concatenate([*tiles, *[blank] * (count - len(tiles))], axis=1)


def _tiles(
    frame: np.ndarray, anchors: np.ndarray, label: str, gap: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """The (mouth, face) tiles of one frame whose face sits at ``anchors`` (``anchors_of``)."""
    mx, my, fx, fy, fh = anchors
    mouth_label = label if gap is None else f"{label} gap {gap:.3f}"
    mouth = _tile(frame, np.array([mx, my]), (MOUTH_BOX[0] * fh, MOUTH_BOX[1] * fh), mouth_label)
    return mouth, _tile(frame, np.array([fx, fy]), (FACE_BOX * fh,) * 2, label)


def contact_sheet(
    video: str | Path, series: FrameSeries, refs: References, n: int = 6
) -> np.ndarray:
    """(H, W, 3) uint8 RGB: the reference, then the ``n`` widest mouths in the first row;
    the reference, then ``n`` evenly spaced faces in the second."""
    mouths, faces = widest_frames(series, n), spaced_frames(series, n)
    wanted, last = set(mouths) | set(faces), max(mouths + faces, default=-1)
    tiles: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, frame in enumerate(read_frames(video)):  # a second decode: no frames kept in memory
        if i in wanted:
            tiles[i] = _tiles(frame, series.anchors[i], f"#{i}", float(series.gap[i]))
        if i >= last:
            break
    ref_mouth, ref_face = _tiles(
        refs.image,
        anchors_of(refs.mesh),
        "portrait" if refs.lips_from == "portrait" else "reference",
        None,
    )
    top = [ref_mouth, *[tiles[i][0] for i in mouths if i in tiles]]
    bottom = [ref_face, *[tiles[i][1] for i in faces if i in tiles]]
    return np.concatenate([_row(top, n + 1), _row(bottom, n + 1)], axis=0)


def write_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB image as PNG atomically (``atomic_path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"cannot encode {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(png.tobytes())
    return path
