"""Face stage: decoding portraits, detecting the face, the working crop, measuring frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from _face_fixtures import CANVAS_OFFSET, SAMPLE, astronaut, small_face_canvas
from PIL import Image

from moda_cli.errors import ImageDecodeError, InputError, MissingDependency, NoFaceFound
from moda_cli.face import landmarks as lm
from moda_cli.face.detect import (
    MIN_CROP_SIZE,
    FaceDetector,
    InsightFaceDetector,
    MediaPipeBoxes,
    make_detector,
)
from moda_cli.face.identity import REFERENCE_IDENTITY, identity_features
from moda_cli.face.image_io import MAX_SIDE, load_portrait
from moda_cli.face.measure import FaceMeter
from moda_cli.face.pose import euler_from_matrix, fit_similarity, rotation_matrix
from moda_cli.face.types import Portrait
from moda_cli.render.settings import RenderSettings


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


# ---- decoding -------------------------------------------------------------------------


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_load_sample_is_rgb_uint8():
    p = load_portrait(SAMPLE)
    assert p.image.shape == (512, 512, 3) and p.image.dtype == np.uint8
    assert p.size == (512, 512) and p.path == SAMPLE


@pytest.mark.parametrize("mode", ["L", "P", "CMYK"])
def test_modes_become_rgb(tmp_path, mode):
    src = Image.fromarray(astronaut())
    ext = "jpg" if mode == "CMYK" else "png"
    path = _save(src.convert(mode), tmp_path / f"face.{ext}")
    img = load_portrait(path).image
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert abs(float(img.mean()) - float(astronaut().mean())) < 25  # same picture, not inverted


def test_rgba_alpha_composited_on_white(tmp_path):
    rgba = np.dstack([astronaut(), np.full((512, 512), 255, np.uint8)])
    rgba[:100, :100, 3] = 0  # transparent corner
    img = load_portrait(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png")).image
    assert (img[:100, :100] == 255).all()
    assert (img[200:, 200:] == astronaut()[200:, 200:]).all()


def test_16bit_png_scaled_to_8bit(tmp_path):
    gray16 = np.asarray(Image.fromarray(astronaut()).convert("L")).astype(np.uint16) * 257
    src = Image.frombytes("I;16", (512, 512), gray16.astype("<u2").tobytes())
    path = _save(src, tmp_path / "g16.png")
    assert Image.open(path).mode.startswith("I")  # really stored with 16 bits
    img = load_portrait(path).image
    assert img.dtype == np.uint8 and img.shape == (512, 512, 3)
    assert 200 <= img.max() <= 255  # not clipped to white, not left at 1/256


def test_exif_orientation_applied(tmp_path):
    src = Image.fromarray(astronaut()[:, :300])  # 300 wide, 512 high
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    path = _save(src, tmp_path / "rot.jpg", exif=exif)
    img = load_portrait(path).image
    assert img.shape == (300, 512, 3)


def test_huge_image_downscaled(tmp_path):
    path = _save(Image.new("RGB", (MAX_SIDE + 904, 100), (10, 20, 30)), tmp_path / "wide.png")
    img = load_portrait(path).image
    assert img.shape[1] == MAX_SIDE and img.shape[0] == round(100 * MAX_SIDE / (MAX_SIDE + 904))


def test_text_named_png_is_decode_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    with pytest.raises(ImageDecodeError, match="notes.png"):
        load_portrait(path)


def test_zero_byte_file_is_decode_error(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageDecodeError, match="empty"):
        load_portrait(path)


def test_truncated_file_is_decode_error(tmp_path):
    data = SAMPLE.read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageDecodeError, match="cut.png"):
        load_portrait(path)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found") as info:
        load_portrait(tmp_path / "nope.png")
    assert not isinstance(info.value, ImageDecodeError)


# ---- detection ------------------------------------------------------------------------


def test_detect_sample(detector):
    face = detector.detect(load_portrait(SAMPLE), RenderSettings(output="crop"))
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    assert face.num_faces == 1 and face.crop.size == 512
    # The box is the landmark extent in the original; the crop is 2.3 box sides.
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200
    side = 512 / face.crop.matrix[0, 0]
    assert side == pytest.approx(2.3 * max(x1 - x0, y1 - y0), rel=1e-4)
    assert np.abs(identity_features(face.landmarks) - REFERENCE_IDENTITY).max() < 0.05
    # Landmarks are in crop pixels: inside the crop, face centred horizontally.
    assert face.landmarks[:, :2].min() > 0 and face.landmarks[:, :2].max() < 512
    assert abs(face.landmarks[:, 0].mean() - 256) < 30


def test_crop_size_follows_settings(detector):
    face = detector.detect(load_portrait(SAMPLE), RenderSettings(size=256, output="crop"))
    assert face.crop.size == 256 and face.landmarks[:, :2].max() < 256


def test_pasteback_crop_is_no_finer_than_the_photo(detector):
    """Pasted back, the crop is at the photo's own resolution (at least 256 px), never
    upsampled to settings.size; a large face is capped by size."""
    small = load_portrait(SAMPLE)  # face about 100 px wide: its crop spans ~230 px of the photo
    face = detector.detect(small, RenderSettings())
    assert face.crop.size == MIN_CROP_SIZE == 256
    big = Portrait(cv2.resize(small.image, (1400, 1400), interpolation=cv2.INTER_CUBIC), SAMPLE)
    face = detector.detect(big, RenderSettings())
    assert face.crop.size == 512
    native = 1.0 / face.crop.matrix[0, 0] * 512  # crop side in photo pixels
    assert native > 512
    face = detector.detect(Portrait(cv2.resize(small.image, (900, 900)), SAMPLE), RenderSettings())
    side = 2.3 * float(max(face.box[2] - face.box[0], face.box[3] - face.box[1]))
    assert 256 < face.crop.size < 512 and abs(face.crop.size - side) <= 2
    assert face.crop.matrix[0, 0] == 1.0  # one crop pixel per photo pixel: no resampling


def test_small_face_in_large_canvas(detector, tmp_path):
    path = tmp_path / "canvas.png"
    Image.fromarray(small_face_canvas()).save(path)
    face = detector.detect(load_portrait(path))
    x0, y0, x1, y1 = face.box
    ox, oy = CANVAS_OFFSET
    assert ox < x0 < x1 < ox + 256 and oy < y0 < y1 < oy + 256
    back = np.c_[face.landmarks[:, :2], np.ones(478)] @ face.crop.inverse().T
    assert np.abs(back.min(axis=0) - face.box[:2]).max() < 1.0  # crop <-> original agree


def test_blank_image_raises_no_face(detector, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (128, 128, 128)).save(path)
    with pytest.raises(NoFaceFound, match="blank.png"):
        detector.detect(load_portrait(path))


def test_group_photo_picks_largest(detector):
    insightface_data = pytest.importorskip("insightface.data")
    rgb = np.ascontiguousarray(insightface_data.get_image("t1")[:, :, ::-1])
    face = detector.detect(Portrait(rgb))
    assert face.num_faces > 1
    boxes = MediaPipeBoxes().boxes(rgb)
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
    largest = boxes[0]
    assert area(largest) == max(area(b) for b in boxes)
    centre = 0.5 * (face.box[:2] + face.box[2:])
    assert largest[0] < centre[0] < largest[2] and largest[1] < centre[1] < largest[3]


def test_pad_iris_from_468_points():
    pts = np.random.default_rng(0).uniform(0, 100, (468, 3))
    out = lm.pad_iris(pts)
    assert out.shape == (478, 3)
    assert np.allclose(out[:468], pts)
    assert np.allclose(out[468, :2], pts[list(lm.RIGHT_EYE), :2].mean(axis=0))
    assert len(np.unique(out[468:478], axis=0)) == 10  # no duplicate points


# ---- InsightFace backend error paths --------------------------------------------------


def test_insightface_root_missing(tmp_path):
    with pytest.raises(MissingDependency, match="InsightFace model folder not found") as info:
        InsightFaceDetector(tmp_path / "absent")
    assert "models/buffalo_l" in str(info.value)


def test_insightface_root_without_onnx(tmp_path):
    (tmp_path / "models" / "buffalo_l").mkdir(parents=True)
    (tmp_path / "models" / "buffalo_l" / "README.txt").write_text("no models here")
    with pytest.raises(MissingDependency, match=r"no \.onnx"):
        InsightFaceDetector(tmp_path)


def test_insightface_root_without_model_folder(tmp_path):
    with pytest.raises(MissingDependency, match="buffalo_l"):
        make_detector("insightface", tmp_path)


def test_make_detector_insightface_needs_root():
    with pytest.raises(MissingDependency, match="model folder"):
        make_detector("insightface", None)


# ---- pose conventions and the meter ---------------------------------------------------


def test_euler_round_trip_and_similarity_fit():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(30, 3))
    for angles in [(10.0, -20.0, 5.0), (-15.0, 25.0, -12.0)]:
        rot = rotation_matrix(*angles)
        assert euler_from_matrix(rot) == pytest.approx(angles, abs=1e-6)
        s, r, t = fit_similarity(pts, 1.7 * pts @ rot.T + 3.0)
        assert s == pytest.approx(1.7) and euler_from_matrix(r) == pytest.approx(angles, abs=1e-6)


def test_rotation_sign_conventions():
    nose = np.array([0.0, 0.0, -1.0])  # in front of the head centre
    assert (rotation_matrix(10, 0, 0) @ nose)[1] > 0  # pitch > 0: nose down
    assert (rotation_matrix(0, 10, 0) @ nose)[0] > 0  # yaw > 0: nose right
    assert (rotation_matrix(0, 0, 10) @ np.array([1.0, 0, 0]))[1] > 0  # roll > 0: clockwise


def test_meter_on_photo_and_rotated_photo():
    img = astronaut()
    rotated = cv2.warpAffine(
        img, cv2.getRotationMatrix2D((225, 125), -10, 1.0), (512, 512)
    )  # 10 deg CW
    meter = FaceMeter(static=True)
    m = meter.measure_frames([img, rotated, np.zeros_like(img)])
    assert m.detected.tolist() == [True, True, False]
    assert len(m) == 3 and np.isnan(m.mouth_open[2])
    assert 0.08 < m.mouth_open[0] < 0.15  # the photo's parted lips
    assert 0.2 < m.eye_open_left[0] < 0.45 and 0.2 < m.eye_open_right[0] < 0.45
    assert m.roll[0] == pytest.approx(0.0, abs=1e-6)
    assert 6 < m.roll[1] < 14 and abs(m.yaw[1]) < 4


def test_mediapipe_loads_without_plotting_or_audio_libraries_which_still_import_later():
    """Start-up: MediaPipe's import drags in matplotlib and sounddevice, which moda never
    uses; they are kept out, and a real import of either afterwards still works."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from moda_cli.face.mediapipe_import import import_mediapipe\n"
        "import_mediapipe()\n"
        "from mediapipe.python.solutions import face_mesh\n"
        "print(sorted(m for m in ('matplotlib', 'sounddevice') if m in sys.modules))\n"
        "import matplotlib.pyplot\n"
        "print(callable(getattr(matplotlib.pyplot, 'plot', None)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-2:] == ["[]", "True"], out
