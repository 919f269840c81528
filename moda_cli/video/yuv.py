"""RGB -> YUV 4:2:0 (BT.709, limited range), what ffmpeg reads from the writer whatever
the output format (H.264's own input format; other codecs convert from it).

moda hands ffmpeg planar yuv420p rather than RGB: the frame is half the bytes through the
pipe, and only the part of a frame that changed needs converting (a talking head moves a
box around the face; the rest of the frame is the portrait, converted once). ffmpeg's
own RGB conversion of every whole frame cost about 30% of x264's time at 512 px.
"""

from __future__ import annotations

import cv2
import numpy as np

_KR, _KB = 0.2126, 0.0722  # BT.709 luma weights of R and B
_KG = 1.0 - _KR - _KB
_Y_SCALE, _C_SCALE = 219.0 / 255.0, 224.0 / 255.0  # limited ("tv") range: Y 16..235, C 16..240

# Rows (Y, Cb, Cr) act on (R, G, B, 1) with values 0..255; cv2.transform rounds and
# saturates to uint8. All three at once: OpenCV's 3-to-3 channel path is SIMD, and took
# 0.12 ms for a 384x454 box where Y alone (3-to-1) took 0.31 ms.
_YCBCR_ROWS = np.vstack(
    [
        [[_KR * _Y_SCALE, _KG * _Y_SCALE, _KB * _Y_SCALE, 16.0]],
        np.array(
            [
                [-_KR, -_KG, 1.0 - _KB, 0.0],
                [1.0 - _KR, -_KG, -_KB, 0.0],
            ]
        )
        * np.array([[_C_SCALE / (2 * (1 - _KB))], [_C_SCALE / (2 * (1 - _KR))]])
        + np.array([[0, 0, 0, 128.0]] * 2),
    ]
)


class Yuv420Frame:
    """One yuv420p frame in a single contiguous buffer (Y plane, then U, then V).

    ``data`` is exactly what ffmpeg's ``-pix_fmt yuv420p`` rawvideo input reads for one
    frame. Width and height must be even (4:2:0 halves both for the chroma planes).
    """

    def __init__(self, width: int, height: int, data: np.ndarray | None = None) -> None:
        """A new frame, or one over ``data`` (uint8, width * height * 3 / 2, not copied)."""
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p needs even sides, got {width}x{height}")
        self.width, self.height = width, height
        size = width * height * 3 // 2
        self.data = np.empty(size, np.uint8) if data is None else data
        if self.data.shape != (size,) or self.data.dtype != np.uint8:
            raise ValueError(f"a {width}x{height} frame is {size} bytes, got {self.data.shape}")
        luma, chroma = width * height, (width // 2) * (height // 2)
        self.y = self.data[:luma].reshape(height, width)
        self.u = self.data[luma : luma + chroma].reshape(height // 2, width // 2)
        self.v = self.data[luma + chroma :].reshape(height // 2, width // 2)

    def put_rgb(self, rgb: np.ndarray, x0: int = 0, y0: int = 0) -> None:
        """Convert (h, w, 3) uint8 RGB into the frame at (x0, y0); x0, y0, w, h even."""
        h, w = rgb.shape[:2]
        if (x0 | y0 | w | h) % 2:
            raise ValueError(
                f"a yuv420p region needs an even origin and size, got {w}x{h} at ({x0}, {y0})"
            )
        if x0 < 0 or y0 < 0 or x0 + w > self.width or y0 + h > self.height:
            raise ValueError(
                f"region {w}x{h} at ({x0}, {y0}) is outside the {self.width}x{self.height} frame"
            )
        ycbcr = cv2.transform(rgb, _YCBCR_ROWS)  # (h, w, 3)
        _put_channel(ycbcr, 0, self.y[y0 : y0 + h, x0 : x0 + w])
        # Chroma of each 2x2 block: the block's mean (the conversion is linear).
        half = cv2.resize(ycbcr, (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # (h/2, w/2, 3)
        cx, cy = x0 // 2, y0 // 2
        _put_channel(half, 1, self.u[cy : cy + h // 2, cx : cx + w // 2])
        _put_channel(half, 2, self.v[cy : cy + h // 2, cx : cx + w // 2])

    def copy_from(self, other: Yuv420Frame) -> None:
        np.copyto(self.data, other.data)


def _put_channel(image: np.ndarray, channel: int, plane: np.ndarray) -> None:
    """Copy one channel of (h, w, C) ``image`` into the (h, w) view ``plane``.

    OpenCV writes a plane's rows in place (a third of numpy's strided copy on a 512 px
    box); should it ever allocate instead, the copy still happens.
    """
    out = cv2.extractChannel(image, channel, dst=plane)
    if out is not plane:
        plane[...] = out
