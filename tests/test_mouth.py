"""The painted mouth interior, judged from rendered frames with a fresh face mesh.

Portraits: the sample (a smile that shows its teeth) and a closed-mouth face cropped from
the group photo that ships inside insightface (``data/images/t1.jpg``), plain and tinted.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from _face_fixtures import SAMPLE, astronaut, params

from moda_cli.face import landmarks as lm
from moda_cli.face.appearance import blur_sigma
from moda_cli.face.detect import FaceDetector
from moda_cli.face.measure import FaceMeter
from moda_cli.face.types import Portrait
from moda_cli.render.mouth import paint_mouth
from moda_cli.render.mouth_source import analyse_mouth
from moda_cli.render.renderer import Renderer
from moda_cli.render.settings import RenderSettings

LUMA = np.array([0.299, 0.587, 0.114])
CLOSED_BOX = (160, 35, 320)  # x, y, side of a closed-mouth face in t1.jpg


def renderer_for(detector: FaceDetector, image: np.ndarray, **settings: object) -> Renderer:
    portrait = Portrait(image, SAMPLE)
    s = RenderSettings(output="crop", **settings)
    return Renderer(portrait, detector.detect(portrait, s), s)


def fill(shape: tuple[int, ...], poly: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly[:, :2]).astype(np.int32)], (1,))
    return mask.astype(bool)


def lip_polygons(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inner = np.vstack([mesh[list(lm.UPPER_INNER_LIP)], mesh[list(lm.LOWER_INNER_LIP)][::-1]])
    outer = np.vstack([mesh[list(lm.UPPER_OUTER_LIP)], mesh[list(lm.LOWER_OUTER_LIP)][::-1]])
    return inner, outer


def fresh_mesh(frame: np.ndarray) -> np.ndarray:
    mesh = FaceMeter(static=True).landmarks(frame)
    assert mesh is not None
    return mesh


def opening_pixels(frame: np.ndarray) -> np.ndarray:
    """(N, 3) RGB inside the inner lips a fresh mesh finds in the frame."""
    inner, _ = lip_polygons(fresh_mesh(frame))
    return frame[fill(frame.shape, inner)].astype(np.float64)


def dark_outside_share(frame: np.ndarray, lip_luma: float) -> float:
    """Dark pixels (under half the portrait's lip luminance) on the lips and just around
    them but outside the inner lips, as a share of the lips' area, by a fresh mesh."""
    mesh = fresh_mesh(frame)
    inner, outer = lip_polygons(mesh)
    span = lm.eye_span(mesh)
    lips = fill(frame.shape, outer) & ~fill(frame.shape, inner)
    kernel = np.ones((3, 3), np.uint8)
    inside = cv2.dilate(fill(frame.shape, inner).astype(np.uint8), kernel).astype(bool)  # + rim
    around = fill(frame.shape, outer).astype(np.uint8)
    grown = cv2.dilate(around, kernel, iterations=max(1, round(0.04 * span))).astype(bool)
    dark = (frame.astype(np.float64) @ LUMA) < 0.5 * lip_luma
    return float((dark & grown & ~inside).sum() / max(lips.sum(), 1))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def smiling(detector) -> Renderer:
    return renderer_for(detector, astronaut())


@pytest.fixture(scope="module")
def closed_photo() -> np.ndarray:
    """A woman with her lips shut, looking down (a portrait that shows no teeth)."""
    insightface = pytest.importorskip("insightface")
    path = Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"
    x, y, side = CLOSED_BOX
    group = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(group[y : y + side, x : x + side])


@pytest.fixture(scope="module")
def closed(detector, closed_photo) -> Renderer:
    return renderer_for(detector, closed_photo)


def lip_luminance(image: np.ndarray) -> float:
    inner, outer = lip_polygons(fresh_mesh(image))
    band = fill(image.shape, outer) & ~fill(image.shape, inner)
    return float(np.median(image[band].astype(np.float64) @ LUMA))


@pytest.mark.parametrize("jaw", [0.5, 1.0])
def test_no_dark_pixels_outside_the_inner_lips(smiling, closed, jaw):
    """The opening is painted only inside the target inner lips: the lips frame it and keep
    their colour (the Gaussian-edged cavity of before spilled over them: 0.04 on the closed
    mouth at jaw_open = 1, against 0.001 now)."""
    for r in (smiling, closed):
        frame = r.render(params(jaw_open=jaw))
        share = dark_outside_share(frame, lip_luminance(r.background))
        assert share < 0.02, (jaw, share)


def test_closed_mouth_opens_onto_darkness_and_teeth(closed):
    assert not closed.mouth.teeth_in_photo  # the teeth are synthesized
    inside = opening_pixels(closed.render(params(jaw_open=1.0)))
    luma = inside @ LUMA
    lip = lip_luminance(closed.background)
    assert np.percentile(luma, 10) < 0.4 * lip  # the cavity is dark
    teeth = luma >= np.percentile(luma, 80)
    assert luma[teeth].mean() > lip  # the teeth are lighter than the lips
    assert luma[teeth].std() > 6.0  # not a flat band: gaps, shading, the photo's grain


def test_synthesized_teeth_take_the_photos_white_balance(detector, closed, closed_photo):
    """Teeth from the photo's whites: a portrait tinted blue gets bluer teeth."""
    tint = np.clip(closed_photo * np.array([0.85, 0.95, 1.15]), 0, 255).astype(np.uint8)
    ratios = []
    for r in (closed, renderer_for(detector, tint)):
        inside = opening_pixels(r.render(params(jaw_open=1.0)))
        teeth = inside[inside @ LUMA >= np.percentile(inside @ LUMA, 80)]
        ratios.append(teeth[:, 2].mean() / teeth[:, 0].mean())  # blue over red
    assert ratios[1] > 1.2 * ratios[0], ratios


def test_the_photos_own_teeth_survive_a_small_opening(smiling):
    """The sample shows its teeth: at its own opening and a little wider they are the
    photo's pixels (before, a flat grey band and a cavity were painted over them)."""
    photo = smiling.background
    inner, _ = lip_polygons(fresh_mesh(photo))
    rgb = photo.astype(np.float64)
    opening = fill(photo.shape, inner)
    teeth = opening & (rgb @ LUMA > np.percentile(rgb[opening] @ LUMA, 60))
    assert smiling.mouth.teeth_in_photo and teeth.sum() > 100
    rest = smiling.rig.basis.rest_jaw
    ys = np.nonzero(teeth)[0]
    upper = teeth & (np.arange(photo.shape[0])[:, None] < np.median(ys))  # the upper row
    for jaw, where, limit in ((rest, teeth, 4.0), (rest + 0.15, upper, 12.0)):
        frame = smiling.render(params(jaw_open=jaw)).astype(np.float64)
        diff = np.abs(frame[where] - rgb[where]).mean()
        assert diff < limit, (jaw, diff)


def test_upper_teeth_follow_the_head_not_the_jaw(smiling):
    """Upper teeth are rigid with the skull: opening the jaw leaves them where they are."""
    photo = smiling.background.astype(np.float64)
    rest = smiling.rig.basis.rest_jaw
    still = smiling.render(params(jaw_open=rest)).astype(np.float64)
    wide = smiling.render(params(jaw_open=1.0)).astype(np.float64)
    inner, _ = lip_polygons(fresh_mesh(smiling.background))
    mask = fill(photo.shape, inner)
    ys = np.nonzero(mask)[0]
    top = mask & (np.arange(photo.shape[0])[:, None] < np.percentile(ys, 40))
    assert np.abs(wide[top] - still[top]).mean() < 12.0


def test_painting_looks_the_same_at_twice_the_resolution(detector):
    """Paste-back paints at the photo's resolution, which may be finer or coarser than the
    working crop: the mouth analysed and painted on a 2x image with px=2 and shrunk back
    matches the painting at 1x."""
    bare = renderer_for(detector, astronaut(), mouth_interior=False)
    p = params(jaw_open=1.0)
    warped = bare.render(p)
    points = bare.rig.face_targets(p)[:, :2]
    source = bare.rig.points[:, :2]
    unit = bare.unit_px

    def painted(k: int) -> np.ndarray:
        photo, frame = (
            cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
            for img in (bare.background, warped)
        )
        shift = (k - 1) / 2  # the same points on a k-times finer grid
        look = analyse_mouth(photo, source * k + shift, unit * k, float(k))
        paint_mouth(frame, points * k + shift, look, unit * k, float(k))
        return cv2.resize(frame, None, fx=1 / k, fy=1 / k, interpolation=cv2.INTER_AREA).astype(int)

    once = painted(1)
    mouth = np.abs(once - warped).max(axis=2) > 0
    assert mouth.sum() > 200  # something was painted
    diff = np.abs(painted(2) - once)[mouth]
    assert diff.mean() < 4.0, diff.mean()


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_blur_estimate_recovers_a_known_blur(sigma):
    """Step edges blurred by a known Gaussian: the estimate the synthesized teeth are
    softened with comes back within 15 %."""
    rng = np.random.default_rng(1)
    image = np.zeros((300, 300), np.float32)
    for _ in range(60):
        (x, y), (w, h) = rng.integers(0, 280, 2), rng.integers(10, 80, 2)
        image[y : y + h, x : x + w] = rng.uniform(0, 255)
    estimate = blur_sigma(cv2.GaussianBlur(image, (0, 0), sigma), 1.0)
    assert estimate == pytest.approx(sigma, rel=0.15)
