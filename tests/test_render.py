"""Renderer: frames judged from their pixels with the independent FaceMeter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _face_fixtures import CANVAS_SIZE, SAMPLE, astronaut, params, small_face_canvas

from moda_cli.face import landmarks as lm
from moda_cli.face.detect import FaceDetector
from moda_cli.face.measure import FaceMeter
from moda_cli.face.types import Portrait
from moda_cli.render.renderer import Renderer
from moda_cli.render.settings import RenderSettings


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def renderer(detector) -> Renderer:
    portrait = Portrait(astronaut(), SAMPLE)
    settings = RenderSettings(output="crop")
    return Renderer(portrait, detector.detect(portrait, settings), settings)


@pytest.fixture(scope="module")
def neutral_mesh(renderer) -> np.ndarray:
    pts = FaceMeter(static=True).landmarks(renderer.render(params()))
    assert pts is not None
    return pts


def measure(frames, reference=None):
    return FaceMeter(reference=reference, static=True).measure_frames(frames)


def test_output_sizes(detector, renderer):
    assert renderer.output_size == (512, 512)
    assert renderer.render(params()).shape == (512, 512, 3)
    portrait = Portrait(astronaut(), SAMPLE)
    face = detector.detect(portrait, RenderSettings(size=256))
    paste = Renderer(portrait, face, RenderSettings(size=256, output="pasteback"))
    assert paste.output_size == (512, 512)
    frame = paste.render(params(jaw_open=0.5))
    assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
    crop = Renderer(portrait, face, RenderSettings(size=256, output="crop"))
    assert crop.output_size == (256, 256) and crop.render(params()).shape == (256, 256, 3)


def test_bad_param_shape(renderer):
    with pytest.raises(ValueError, match="58"):
        renderer.render(np.zeros(5, np.float32))


def test_jaw_open_is_absolute_and_monotonic(renderer):
    jaws = [0.0, 0.25, 0.5, 0.75, 1.0]
    m = measure([renderer.render(params(jaw_open=j)) for j in jaws])
    assert m.detected.all()
    gaps = m.mouth_open
    assert gaps[0] < 0.06  # the photo's parted lips (~0.11) are closed at jaw_open = 0
    assert gaps[-1] > gaps[0] + 0.08  # open at 1 (target JAW_FULL_GAP = 0.17 eye spans)
    assert (np.diff(gaps) > -0.02).all()  # monotonic, up to measurement noise


def _lip_geometry(pts: np.ndarray) -> dict[str, float]:
    """Mouth geometry of a fresh mesh: the inner-lip gap over the face height (10-152), and
    lengths over the eye span (33-263), which the jaw does not change."""
    span = np.linalg.norm(pts[lm.EYE_CORNERS[0], :2] - pts[lm.EYE_CORNERS[1], :2])
    length = lambda a, b: float(np.linalg.norm(pts[a, :2] - pts[b, :2]))  # noqa: E731
    top, bottom = lm.INNER_LIP_MID
    columns = [(87, 84), (bottom, 17), (317, 314)]  # lower inner lip -> lower outer lip
    return {
        "gap": length(top, bottom) / length(lm.FOREHEAD, lm.CHIN),
        "lower_band": float(np.mean([length(a, b) for a, b in columns])) / span,
        "upper_lip_y": float(pts[top, 1] - 0.5 * (pts[33, 1] + pts[263, 1])) / span,
    }


def _t1_face(detector: FaceDetector, box: tuple[int, int, int, int]) -> tuple[Renderer, np.ndarray]:
    """A face from insightface's group photo (x0, y0, x1, y1), enlarged 2x: its renderer
    (paste-back) and the photo."""
    import cv2
    import insightface

    x0, y0, x1, y1 = box
    t1 = cv2.imread(str(Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"))
    crop = cv2.resize(t1[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    portrait = Portrait(np.ascontiguousarray(crop[..., ::-1]))
    settings = RenderSettings(output="pasteback")
    return Renderer(portrait, detector.detect(portrait, settings), settings), portrait.image


@pytest.fixture(scope="module")
def closed_mouth(detector) -> tuple[Renderer, np.ndarray]:
    """A woman with closed lips, head tilted."""
    return _t1_face(detector, (0, 200, 240, 440))


@pytest.fixture(scope="module")
def laughing(detector) -> tuple[Renderer, np.ndarray]:
    """A man laughing with his teeth showing."""
    return _t1_face(detector, (660, 290, 900, 530))


@pytest.fixture(scope="module")
def speech_faces(renderer, laughing) -> list[tuple[Renderer, dict[str, float]]]:
    """(renderer, the photo's own lip geometry) for two photographs with teeth showing:
    the sample and the laughing man."""
    out = []
    for r, photo in ((renderer, renderer.background), laughing):
        pts = FaceMeter(static=True).landmarks(photo)
        assert pts is not None
        out.append((r, _lip_geometry(pts)))
    return out


def test_speech_openings_are_speech_sized(speech_faces):
    """jaw_open = 1 is the widest opening of ordinary speech: about 0.085 face heights
    (15 mm, params.py), open vowels (0.85-0.95) near 0.08; 0.5 about half of it; never a
    scream (0.2 and more)."""
    for r, _ in speech_faces:
        meter = FaceMeter(static=True)
        gaps = []
        for jaw in (0.5, 0.9, 1.0):
            pts = meter.landmarks(r.render(params(jaw_open=jaw)))
            assert pts is not None
            gaps.append(_lip_geometry(pts)["gap"])
        assert 0.02 < gaps[0] < 0.075, gaps
        assert 0.06 < gaps[1] < 0.115 and 0.065 < gaps[2] < 0.12, gaps
        assert gaps[0] < gaps[1] <= gaps[2] + 0.01, gaps


def test_lower_lip_moves_as_lip_tissue(speech_faces):
    """Near the widest speech opening the lower lip's band (inner to outer contour) keeps
    its thickness within 20 % of the photo's, and the upper lip does not come down. (The
    mesh reads a lip band to about 10 % on a single frame: three openings are averaged.)"""
    for r, photo in speech_faces:
        meter = FaceMeter(static=True)
        frames = [r.render(params(jaw_open=j)) for j in (0.8, 0.9, 1.0)]
        got = [_lip_geometry(meter.landmarks(frame)) for frame in frames]
        band = np.mean([g["lower_band"] for g in got]) / photo["lower_band"]
        assert 0.8 < band < 1.2, (band, got, photo)
        assert max(g["upper_lip_y"] for g in got) - photo["upper_lip_y"] < 0.02, (got, photo)


def _lower_lip_texture_match(photo: np.ndarray, frame: np.ndarray) -> float:
    """Correlation of the lower lip's fine texture (grey minus its 2 px blur) between the
    photo and a frame, the frame's lip found where a fresh mesh says it moved (+-3 px)."""
    import cv2

    meter = FaceMeter(static=True)
    p0, p1 = meter.landmarks(photo), meter.landmarks(frame)
    assert p0 is not None and p1 is not None
    inner, outer = list(lm.LOWER_INNER_LIP[2:-2]), list(lm.LOWER_OUTER_LIP[2:-2])
    band = np.vstack([p0[inner, :2], p0[outer[::-1], :2]])  # photo pixels, a polygon
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(band).astype(np.int32)], 1)
    ys, xs = np.nonzero(cv2.erode(mask, np.ones((3, 3), np.uint8)))

    def fine(image: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        g -= cv2.GaussianBlur(g, (0, 0), 2.0)
        v = g[np.clip(yy, 0, g.shape[0] - 1), np.clip(xx, 0, g.shape[1] - 1)]
        return (v - v.mean()) / (v.std() + 1e-6)

    ref = fine(photo, ys, xs)
    dx, dy = np.round((p1[outer, :2] - p0[outer, :2]).mean(axis=0)).astype(int)
    return max(
        float(np.mean(ref * fine(frame, ys + dy + j, xs + dx + i)))
        for i in range(-3, 4)
        for j in range(-3, 4)
    )


def test_lower_lip_keeps_its_texture(closed_mouth, laughing):
    """The lower lip moves down as lip tissue: its fine texture is the photo's, moved, not
    folded. (Its mesh rows that no contour list named once lagged the rest of the lip and
    the texture correlation fell to 0.62-0.78 here.)"""
    for r, photo in (closed_mouth, laughing):
        match = [_lower_lip_texture_match(photo, r.render(params(jaw_open=j))) for j in (0.5, 1.0)]
        assert np.mean(match) > 0.8, match


def test_blink_closes_eyes(renderer):
    m = measure(
        [renderer.render(params()), renderer.render(params(blink_left=1.0, blink_right=1.0))]
    )
    assert m.detected.all()
    # MediaPipe's mesh never reports a shut eye as fully shut (~0.6 x open at best).
    assert m.eye_open_left[1] < 0.72 * m.eye_open_left[0]
    assert m.eye_open_right[1] < 0.72 * m.eye_open_right[0]


def test_single_blink_is_one_sided(renderer):
    m = measure([renderer.render(params()), renderer.render(params(blink_left=1.0))])
    assert m.eye_open_left[1] < 0.75 * m.eye_open_left[0]
    assert m.eye_open_right[1] > 0.85 * m.eye_open_right[0]


def test_yaw_sign_measured(renderer, neutral_mesh):
    m = measure(
        [renderer.render(params(yaw=15.0)), renderer.render(params(yaw=-15.0))], neutral_mesh
    )
    assert m.detected.all()
    assert m.yaw[0] > 3 and m.yaw[1] < -3


def test_roll_and_pitch_signs_measured(renderer, neutral_mesh):
    m = measure(
        [renderer.render(params(roll=10.0)), renderer.render(params(pitch=12.0))], neutral_mesh
    )
    assert m.detected.all()
    assert m.roll[0] > 5
    assert m.pitch[1] > 2


def test_expressions_move_the_measured_mouth(renderer):
    m = measure(
        [renderer.render(params(**p)) for p in ({}, {"lip_round": 1.0}, {"lip_spread": 1.0})]
    )
    assert m.detected.all()
    assert m.mouth_width[1] < m.mouth_width[0] - 0.05  # rounded lips are narrower
    assert m.mouth_width[2] > m.mouth_width[0] + 0.02


def test_neutral_render_changes_only_the_face(renderer):
    frame = renderer.render(params(jaw_open=renderer.rig.basis.rest_jaw))  # the photo's own gap
    diff = np.abs(frame.astype(int) - renderer.background.astype(int)).max(axis=2)
    assert (diff[:40] == 0).all() and (diff[:, :40] == 0).all()  # border: untouched
    assert np.mean(diff[100:400, 100:400]) < 6  # the photo's own expression: nearly the crop


def test_pasteback_keeps_far_pixels_identical(detector):
    canvas = small_face_canvas()
    portrait = Portrait(canvas)
    face = detector.detect(portrait)
    r = Renderer(portrait, face, RenderSettings(output="pasteback"))
    assert r.output_size == CANVAS_SIZE
    frame = r.render(params(jaw_open=1.0, yaw=20.0, blink_left=1.0, smile=1.0))
    assert frame.shape == canvas.shape
    x0, y0, x1, y1 = (
        r.patch_box.x0,
        r.patch_box.y0,
        r.patch_box.x1,
        r.patch_box.y1,
    )  # only this box may change
    outside = np.ones(canvas.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (frame[outside] == canvas[outside]).all()
    for ys, xs in (
        (slice(0, 50), slice(0, 50)),
        (slice(0, 50), slice(-50, None)),
        (slice(-50, None), slice(0, 50)),
    ):
        assert frame[ys, xs].tobytes() == canvas[ys, xs].tobytes()  # corners byte-identical
    assert (frame[y0:y1, x0:x1] != canvas[y0:y1, x0:x1]).any()  # the face did move
    assert (x1 - x0) * (y1 - y0) < 0.1 * canvas.shape[0] * canvas.shape[1]


@pytest.mark.parametrize(
    ("output", "image"),
    [("crop", astronaut), ("pasteback", astronaut), ("pasteback", small_face_canvas)],
)
def test_grid_warp_matches_opencv(detector, output, image):
    """The batched torch path (what a CUDA device runs) gives the OpenCV path's frames,
    on a square crop and on whole photos, one of them wider than tall."""
    portrait = Portrait(image())
    settings = RenderSettings(size=256, output=output)
    face = detector.detect(portrait, settings)
    cpu, grid = Renderer(portrait, face, settings), Renderer(portrait, face, settings, device="cpu")
    assert grid.batch_size > 1 and cpu.batch_size == 1
    rows = np.stack(
        [
            params(),
            params(jaw_open=0.9, yaw=12.0),
            params(blink_left=1.0, smile=0.8, pitch=-8.0),
            params(lip_round=1.0, roll=6.0),
        ]
    )
    got = grid.render_patches(rows)
    for frame, row in zip(got, rows, strict=True):
        want = cpu.render_patch(row)
        assert frame.shape == want.shape and frame.dtype == np.uint8
        diff = np.abs(frame.astype(int) - want)
        assert diff.mean() < 0.2 and np.percentile(diff, 99.9) <= 4, (diff.mean(), diff.max())
    # and the batch is not just the first frame repeated
    assert np.abs(got[1].astype(int) - got[0]).mean() > 0.5


def test_pasteback_at_rest_is_the_photo_itself(detector):
    """Paste-back warps the photo itself: where the face does not move, not one byte changes
    (a crop resampled and pasted back would blur the whole face)."""
    portrait = Portrait(astronaut(), SAMPLE)
    settings = RenderSettings(output="pasteback")
    r = Renderer(portrait, detector.detect(portrait, settings), settings)
    frame = r.render(params(jaw_open=r.rig.basis.rest_jaw))  # the photo's own expression
    box = r.patch_box.slices
    same = (frame[box] == portrait.image[box]).all(axis=2)
    assert same.mean() > 0.97  # only the painted mouth opening differs
    assert same[: same.shape[0] // 2].all()  # eyes, brows, hair: byte for byte


def test_painting_looks_the_same_at_twice_the_resolution():
    """Paste-back paints at the photo's resolution, which may be finer or coarser than the
    working crop: an eyelid painted on a 2x image with px=2 and shrunk back matches the
    painting at 1x (with px ignored, the lid's band comes out twice as wide: mean 0.59).
    The mouth's twin is in test_mouth.py (it needs a whole face to analyse)."""
    import cv2

    from moda_cli.render.eyes import paint_eyelid

    image = np.ascontiguousarray(astronaut()[60:180, 160:300])
    xs, arc = np.linspace(30, 60, 7), np.sin(np.linspace(0, np.pi, 7))
    lids = np.stack([xs, 40 - 1.5 * arc], 1), np.stack([xs, 40 + 0.8 * arc], 1)
    crease = np.stack([xs[1:-1], 40 - 5.0 * arc[1:-1]], 1)

    def painted(img: np.ndarray, k: int) -> np.ndarray:
        out = img.copy()
        to = lambda c: c * k + (k - 1) / 2  # noqa: E731  # the same points on a k-times finer grid
        paint_eyelid(out, to(crease), to(lids[0]), to(lids[1]), 1.0, 25.0 * k, float(k))
        return out

    once = painted(image, 1).astype(int)
    assert np.abs(once - image).max() > 100  # something was painted
    fine = painted(cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST), 2)
    back = cv2.resize(fine, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(back - once).mean() < 0.45
