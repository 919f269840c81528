"""How a photo looks, measured once per portrait: colours, light, sharpness and grain.

The renderer synthesizes pixels the photo does not show (a mouth's inside); they must
look like the photo's own: its white balance and light, never sharper or cleaner than it.

- Colours are CIELAB (OpenCV's float conversion: L* 0..100); "whiteness" is L* minus
  chroma: high for teeth and sclera, low for lips (the most saturated part of a face).
- Blur: how much the photo's strongest edges soften when blurred further, after Zhuo and
  Sim, "Defocus map estimation from a single image", Pattern Recognition 2011.
- Grain: the high-pass residual of the cheeks' skin.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import landmarks as lm

SCLERA_LEAD = 10.0  # whiteness by which the sclera leads the skin when it is fully trusted
GRAIN_TILE = 96  # pixels; the grain repeats at this period
CHEEK_CENTRES = (50, 280)  # mesh points mid-cheek, image-left then image-right


def fill_polygon(shape: tuple[int, ...], poly: np.ndarray) -> np.ndarray:
    """(h, w) float32 anti-aliased coverage of the polygon (N, 2) in pixels; shape (h, w, ...)."""
    mask = np.zeros(shape[:2], np.uint8)
    sub = 4  # fillPoly's fractional bits: sub-pixel accurate edges
    cv2.fillPoly(mask, [np.round(poly * (1 << sub)).astype(np.int32)], (255,), cv2.LINE_AA, sub)
    return mask.astype(np.float32) * np.float32(1 / 255)


def inner_lip_polygon(points: np.ndarray) -> np.ndarray:
    """(22, 2) the opening between the lips, corner to corner and back, from (>=468, 2)."""
    return np.vstack([points[list(lm.UPPER_INNER_LIP)], points[list(lm.LOWER_INNER_LIP)][::-1]])


def to_lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def whiteness(lab: np.ndarray) -> np.ndarray:
    """CIELAB luminance minus chroma: high for teeth and sclera, low for lips and skin."""
    return lab[..., 0] - np.hypot(lab[..., 1], lab[..., 2])


def median_rgb(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(3,) median colour of the pixels mostly inside ``weight`` (h, w) 0..1."""
    sel = weight > 0.5
    if not sel.any():
        sel = weight >= weight.max()
    return np.median(image[sel].astype(np.float32), axis=0)


def lip_colour(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3,) median RGB of the lips' red part (between outer and inner contours)."""
    outer = np.vstack([points[list(lm.UPPER_OUTER_LIP)], points[list(lm.LOWER_OUTER_LIP)][::-1]])
    band = fill_polygon(image.shape, outer) - fill_polygon(image.shape, inner_lip_polygon(points))
    return median_rgb(image, band)


def _patch(image: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """The square of half-side ``radius`` around ``centre``, clipped to the image."""
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.round(centre - radius).astype(int), 0, (w - 1, h - 1))
    x1, y1 = np.clip(np.round(centre + radius).astype(int) + 1, 1, (w, h))
    return image[y0:y1, x0:x1]


def teeth_white(lab: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3,) RGB teeth would have in this photo.

    Teeth are a diffuse near-white, lit like the face: their colour is the light's as the
    photo shows it. The sclera shows it directly where it is visibly whiter than the skin
    (open eyes, enough pixels); otherwise the skin's colour and the specular highlights'
    (near-white, but clipped) bracket it: diffuse whites keep most of the skin's colour
    cast (in the sample photos that show teeth, their chroma is 0.8-1 x the skin's).
    Brightness: a little under the highlights (teeth sit in the lips' shade), towards the
    sclera's where that is seen. lab: (H, W, 3) the photo; points: (>=468, 2) its mesh.
    """
    shape = lab.shape[:2]
    white = whiteness(lab)
    oval = fill_polygon(shape, points[list(lm.FACE_OVAL)]) > 0.5
    skin = np.median(lab[oval], axis=0)
    bright = oval & (lab[..., 0] >= np.percentile(lab[..., 0][oval], 99))
    highlight = np.median(lab[bright], axis=0)
    guess = np.array([0.9 * highlight[0], *(0.2 * highlight[1:] + 0.8 * skin[1:])])
    right, left = (fill_polygon(shape, points[list(eye)]) for eye in (lm.RIGHT_EYE, lm.LEFT_EYE))
    eyes = right + left > 0.99
    if eyes.any():
        sclera = np.median(lab[eyes & (white >= np.percentile(white[eyes], 70))], axis=0)
        lead = float(whiteness(sclera)) - float(whiteness(skin))
        seen = float(np.clip(lead / SCLERA_LEAD, 0.0, 1.0))
        seen_teeth = np.array([0.5 * (sclera[0] + highlight[0]), *sclera[1:]])
        guess += seen * (seen_teeth - guess)
    return cv2.cvtColor(guess.astype(np.float32)[None, None], cv2.COLOR_Lab2RGB)[0, 0] * 255.0


def light_slope(lab: np.ndarray, points: np.ndarray, unit: float) -> float:
    """How much brighter the image-right cheek is than the image-left one, -1..1."""
    left, right = (
        float(np.median(_patch(lab[..., 0], points[i], 0.1 * unit))) for i in CHEEK_CENTRES
    )
    return float(np.clip((right - left) / max(right + left, 1e-3), -1.0, 1.0))


def blur_sigma(gray: np.ndarray, px: float) -> float:
    """The photo's blur, a Gaussian sigma in pixels, from its strongest edges.

    A step edge blurred by sigma has its gradient peak fall by R = sqrt(sigma^2 + s0^2) /
    sigma when blurred again by s0, so sigma = s0 / sqrt(R^2 - 1) (Zhuo and Sim 2011).
    """
    s0 = max(px, 1.0)

    def grad(img: np.ndarray) -> np.ndarray:
        gy, gx = np.gradient(img)
        return np.hypot(gx, gy)

    g1, g2 = grad(gray), grad(cv2.GaussianBlur(gray, (0, 0), s0))
    edges = g1 >= np.percentile(g1, 98)
    ratio = g1[edges] / np.maximum(g2[edges], 1e-6)
    sigma = s0 / np.sqrt(np.maximum(ratio**2 - 1.0, 1e-3))
    return float(np.clip(np.median(sigma), 0.3 * px, 6.0 * px))


def _residual(gray: np.ndarray, px: float) -> np.ndarray:
    return gray - cv2.GaussianBlur(gray, (0, 0), 1.5 * px)


def _robust_std(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def grain_tile(
    gray: np.ndarray, points: np.ndarray, unit: float, blur: float, px: float
) -> np.ndarray:
    """(N, N) float32 noise as fine and as strong as the cheeks' skin residual, repeating
    every GRAIN_TILE pixels, with room for any face-wide box at any period offset.

    gray: (H, W) float32 0..255; blur: the photo's blur sigma (the grain is as soft).
    """
    cheeks = [_patch(gray, points[i], 0.1 * unit) for i in CHEEK_CENTRES]
    target = float(np.median([_robust_std(_residual(c, px)) for c in cheeks]))
    white = np.random.default_rng(0).standard_normal((GRAIN_TILE, GRAIN_TILE)).astype(np.float32)
    noise = np.asarray(cv2.GaussianBlur(white, (0, 0), max(0.5 * blur, 0.3)), np.float32)
    noise *= np.float32(target / max(_robust_std(_residual(noise, px)), 1e-6))
    reps = int(np.ceil(1.5 * unit / GRAIN_TILE)) + 2  # any mouth-sized box at any period offset
    return np.tile(noise, (reps, reps))
