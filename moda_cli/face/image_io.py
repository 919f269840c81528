"""Decoding portraits into RGB uint8, whatever the file's mode or orientation.

Every later stage assumes an (H, W, 3) uint8 RGB array the way a viewer shows the photo,
so orientation, palettes, alpha, CMYK and 16-bit depth are all resolved here, once.
Portraits whose long side exceeds ``max_side`` (the preset's ``render.max_side``, at most
``MAX_SIDE``) are downscaled to it: rendering and above all encoding grow with the
portrait, and a paste-back video has the portrait's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageDecodeError, InputError
from .settings import MAX_SIDE
from .types import Portrait


def load_portrait(path: str | Path, max_side: int = MAX_SIDE) -> Portrait:
    """Read a portrait file as RGB uint8 with EXIF orientation applied, its longest side
    at most ``max_side`` (and MAX_SIDE) pixels.

    Raises InputError when the file is missing, ImageDecodeError when it cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("portrait file not found", path=path)
    if path.stat().st_size == 0:
        raise ImageDecodeError("cannot decode image: the file is empty (0 bytes)", path=path)
    try:
        with Image.open(path) as img:
            img.load()  # decode now so truncated files fail here, not later
            rgb = _to_rgb(ImageOps.exif_transpose(img))
    except UnidentifiedImageError:
        raise ImageDecodeError(
            "cannot decode image: not a recognised image format", path=path
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(
            f"cannot decode image: {exc}", path=path, hint="image too large"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow reports truncation as OSError
        raise ImageDecodeError(f"cannot decode image: {exc}", path=path) from None
    return Portrait(image=_limit_size(rgb, min(max_side, MAX_SIDE)), path=path)


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8 RGB; alpha is composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img).astype(np.float64)
        # 16-bit PNGs use the full 0..65535 range; 32-bit "I" images are treated the same.
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    if img.mode == "F":
        gray = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _limit_size(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    long_side = max(h, w)
    if long_side <= max_side:
        return rgb
    scale = max_side / long_side
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))
