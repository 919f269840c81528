"""`moda qc` measured on clips made here, whose truth is known by construction.

Each clip is the sample portrait re-encoded with one thing changed (an eye painted shut
for three frames, a dark blob over the lower lip, the scene shifted), so every figure
must move for the right reason and stay put otherwise. The fresh face mesh measures
the decoded frames, as it does for a real render.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from _face_fixtures import astronaut
from _media import FAST, speechlike, write_wav
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.face.landmarks import (
    LEFT_EYE,
    LEFT_LOWER_LID,
    LOWER_INNER_LIP,
    LOWER_OUTER_LIP,
    RIGHT_EYE,
    RIGHT_LOWER_LID,
)
from moda_cli.face.measure import FaceMeter
from moda_cli.qc import measure, run_qc
from moda_cli.qc.figures import blink_qc, frame_loudness, mouth_qc
from moda_cli.qc.lips import lip_reference, measure_lips
from moda_cli.qc.measure import FrameSeries
from moda_cli.video.writer import VideoWriter

SIZE = 256
FPS = 25.0


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """(256, 256, 3) uint8 RGB: the sample portrait, small to keep the mesh fast."""
    return cv2.resize(astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def mesh(portrait: np.ndarray) -> np.ndarray:
    meter = FaceMeter(static=True)
    pts = meter.landmarks(portrait)
    meter.close()
    assert pts is not None
    return pts


def write_clip(path: Path, frames: list[np.ndarray]) -> Path:
    with VideoWriter(path) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def shut_eye(
    image: np.ndarray, pts: np.ndarray, eye: tuple[int, ...], lower: tuple[int, ...]
) -> np.ndarray:
    """The eye painted shut: its opening inpainted with the surrounding skin, a lash line."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(pts[list(eye), :2]).astype(np.int32)], (255,))
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    out = cv2.inpaint(np.ascontiguousarray(image), mask, 5, cv2.INPAINT_TELEA)
    lash = np.round(pts[list(lower), :2]).astype(np.int32)
    cv2.polylines(out, [lash], False, (70, 45, 40), 1, cv2.LINE_AA)
    return out


@pytest.fixture(scope="module")
def still_report(tmp_path_factory, portrait):
    clip = write_clip(tmp_path_factory.mktemp("qc") / "still.mp4", [portrait] * 50)
    return run_qc(clip, portrait=portrait)


def test_a_still_reencode_of_the_portrait_passes_with_no_drop_and_no_blinks(still_report):
    r = still_report
    assert r.frames == 50 and r.face_found == 1.0
    assert r.background is not None and abs(r.background.drop_db) < 0.3, r.background
    assert r.blinks is not None and (r.blinks.count, r.blinks.winks) == (0, 0)
    assert r.lips is not None and (r.lips.held_upper, r.lips.held_lower) == (1.0, 1.0)
    # The encoder halves the lips' chroma resolution, and two meshes place a thin band
    # a little differently: a few units of delta-E, far from the threshold's 20.
    assert (
        max(r.lips.delta_e_p95_upper, r.lips.delta_e_p95_lower) < 12.0
        and r.lips.dark_outside < 0.05
    )
    assert 0.85 < r.lips.thickness_lower < 1.15
    assert {f.name for f in r.flags} == {"blinks_per_min"}  # no blinks, and nothing else amiss


def test_one_eye_shut_for_three_frames_is_a_wink_and_both_a_blink(tmp_path, portrait, mesh):
    right = shut_eye(portrait, mesh, RIGHT_EYE, RIGHT_LOWER_LID)
    both = shut_eye(right, mesh, LEFT_EYE, LEFT_LOWER_LID)
    frames = [portrait] * 50
    frames[15:18] = [right] * 3
    frames[35:38] = [both] * 3
    series = measure(write_clip(tmp_path / "wink.mp4", frames), portrait)
    b = blink_qc(series)
    assert (b.count, b.winks, b.durations) == (1, 1, [3]), b
    assert b.per_minute == pytest.approx(1 / (50 / FPS / 60))


def test_a_dark_blob_over_the_lower_lip_is_dark_outside_the_inner_lips(portrait, mesh):
    ref = lip_reference([measure_lips(portrait, mesh, None)])
    clean = measure_lips(portrait, mesh, ref)
    blob = portrait.copy()
    lip = mesh[list(LOWER_OUTER_LIP[3:8]) + list(LOWER_INNER_LIP[3:8]), :2]
    centre, (w, h) = lip.mean(axis=0), np.ptp(lip, axis=0)
    cv2.ellipse(
        blob,
        (round(centre[0]), round(centre[1])),
        (round(w / 2), round(h)),
        0,
        0,
        360,
        (40, 10, 15),
        -1,
    )
    dark = measure_lips(blob, mesh, ref)
    assert clean.dark_outside < 0.05
    assert dark.dark_outside > 0.2, dark.dark_outside
    assert np.linalg.norm(dark.lower - ref.lower) > 20  # and the lower lip's colour is lost
    assert np.linalg.norm(dark.upper - ref.upper) < 5


def test_a_moving_scene_drops_the_background_psnr(tmp_path, portrait):
    shifted = [np.roll(portrait, k % 3, axis=1) for k in range(20)]  # a scene that jitters 0-2 px
    r = run_qc(write_clip(tmp_path / "jitter.mp4", shifted), portrait=portrait)
    assert r.background is not None and r.background.drop_db > 1.5, r.background
    assert "background_drop_db" in {f.name for f in r.flags}


def test_the_scene_is_compared_only_with_a_paste_back_of_the_portrait():
    from moda_cli.qc.measure import _fit_portrait

    image = np.zeros((300, 321, 3), np.uint8)  # (H, W): the encoder pads W to 322
    assert _fit_portrait(image, 322, 300) is image
    assert _fit_portrait(image, 214, 200).shape == (200, 214, 3)  # scaled down by max_side
    assert _fit_portrait(image, 256, 256) is None  # a face crop (render.output: crop)
    assert _fit_portrait(image, 642, 600) is None  # never upscaled: not the portrait's render


def _series(
    gap: np.ndarray, left: np.ndarray | None = None, right: np.ndarray | None = None
) -> FrameSeries:
    """A FrameSeries with the given gap (and eye openings); every other figure NaN."""
    t = len(gap)
    nan, nan3 = np.full(t, np.nan), np.full((t, 3), np.nan)
    eyes = [nan if e is None else e for e in (left, right)]
    return FrameSeries(FPS, np.ones(t, bool), gap, *eyes, nan3, nan3, nan, np.full((t, 2), np.nan),
                       None, np.full((t, 5), np.nan))  # fmt: skip


def test_a_profile_counts_the_seen_eyes_closures_as_blinks_and_hidden_eyes_count_nothing():
    seen = np.full(100, 0.3)
    seen[40:43] = 0.05
    hidden = np.full(100, 0.9)  # foreshortened far eye: lid gap / width out of an open eye's range
    b = blink_qc(_series(np.zeros(100), seen, hidden))
    assert (b.count, b.winks, b.eyes_measured) == (1, 0, 1)
    downcast = np.full(100, 0.04)  # lids nearly shut in the photo: blinks cannot be seen
    none = blink_qc(_series(np.zeros(100), downcast, downcast))
    assert (none.per_minute, none.count, none.eyes_measured) == (None, 0, 0)


def test_mouth_following_the_loudness_correlates_above_chance_and_rests_in_silence():
    rng = np.random.default_rng(0)
    loud = np.clip(np.sin(np.arange(250) / 3.0), 0, None) * (
        np.arange(250) < 200
    )  # speech, then 2 s quiet
    gap = 0.01 + 0.06 * loud + 0.003 * rng.standard_normal(250)
    m = mouth_qc(_series(gap), loud)
    assert m.corr is not None and m.corr > 0.9 and m.corr_chance is not None and m.corr_chance < 0.6
    assert m.silence_ratio is not None and m.silence_ratio < 0.5
    assert 0.05 < m.gap_p95 < 0.075
    unrelated = mouth_qc(_series(0.04 + 0.02 * rng.random(250)), loud)
    assert unrelated.corr is not None and unrelated.corr < 0.35


def test_frame_loudness_finds_speech_then_silence(tmp_path):
    speech = np.concatenate([speechlike(2.0), np.zeros(32_000, np.float32)])
    loud = frame_loudness(write_wav(tmp_path / "s.wav", speech), FPS, 100)
    assert loud.shape == (100,)
    assert loud[5:45].max() > 0.8 and loud[55:].max() < 0.05


def test_moda_qc_command_writes_json_and_sheet_for_a_render(
    tmp_path, small_portrait, speech_with_pause
):
    audio, _ = speech_with_pause
    video, runner = tmp_path / "clip.mp4", CliRunner()
    rendered = runner.invoke(
        app,
        [
            "render",
            str(small_portrait),
            str(audio),
            "-o",
            str(video),
            "-q",
            "--set",
            "render.size=256",
            "--device",
            "cpu",
        ],
    )
    assert rendered.exit_code == 0, rendered.output
    sheet, doc = tmp_path / "sheet.png", tmp_path / "qc.json"
    result = runner.invoke(
        app,
        [
            "qc",
            str(video),
            "--portrait",
            str(small_portrait),
            "--audio",
            str(audio),
            "--sheet",
            str(sheet),
            "--json",
            str(doc),
        ],
    )
    report = json.loads(doc.read_text())
    assert result.exit_code == (0 if report["passed"] else 1), result.output
    assert "face found" in result.output and report["face_found"] > 0.98
    assert report["mouth"]["corr"] is not None and report["background"] is not None
    assert len(report["flags"]) == result.output.count("flag ")
    image = cv2.imread(str(sheet))
    assert image is not None and image.shape[1] == 7 * 192 and image.shape[0] == 144 + 192


def test_a_video_without_a_face_is_flagged_and_still_reports_valid_json(tmp_path, portrait):
    from moda_cli.errors import NoFaceFound

    blank = np.full_like(portrait, 128)
    clip = write_clip(tmp_path / "noface.mp4", [blank] * 10)
    r = run_qc(clip, portrait=portrait)
    assert r.face_found == 0.0 and (r.mouth, r.lips, r.blinks) == (None, None, None)
    assert {"face_found", "background_drop_db"} <= {f.name for f in r.flags}
    json.dumps(r.to_json(), allow_nan=False)
    with pytest.raises(NoFaceFound):  # no portrait: the first frames must show the face
        run_qc(clip)


def test_batch_qc_adds_each_rendered_jobs_figures_and_flags_to_the_report(tmp_path, small_portrait):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "anna.png").write_bytes(small_portrait.read_bytes())
    write_wav(src / "anna.wav", speechlike(2.0))
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(src),
            "-o",
            str(out),
            "--qc",
            "-q",
            *FAST,
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "report.json").read_text())
    (job,) = doc["jobs"]
    assert job["status"] == "done" and job["qc"]["frames"] == job["frames"]
    assert job["qc"]["face_found"] > 0.98 and job["qc"]["background"] is not None
    flags = [w for w in job["warnings"] if w.startswith("qc: ")]
    assert len(flags) == len(job["qc"]["flags"])
    assert doc["summary"]["qc_flagged"] == (0 if job["qc"]["passed"] else 1)


def test_one_frame_blinks_are_flagged_as_too_short_to_be_seen():
    from moda_cli.qc.report import BlinkQC, QCReport, judge

    def flags(durations: list[int]) -> set[str]:
        blinks = BlinkQC(12.0, len(durations), 0, durations)
        return {f.name for f in judge(QCReport("v", 250, FPS, 1.0, None, None, blinks, None))}

    assert flags([1, 1, 2]) == {"blink_frames"}
    assert flags([3, 4, 2]) == set()
