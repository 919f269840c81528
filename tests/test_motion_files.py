"""Motion files (issue 15): ``--motion-out`` writes the motion that was rendered, moda's JSON
or Live Link Face's CSV; ``--motion-in`` renders a file instead of sampling.

The round trip is checked on decoded frames (byte-identical), the ARKit vocabulary
against Apple's list, and a CSV written by hand (a 60 fps phone recording's layout, a few
curves) is rendered and measured with a fresh face mesh: the mouth opens where JawOpen
is high and the head turns with HeadYaw. Bad files fail with exit code 2, naming the
file and the cause, before any model loads.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from _media import speechlike, write_wav
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.facemodel import arkit, core
from moda_cli.facemodel.params import HIGH, LOW, NUM_PARAMS, PARAM_NAMES, MotionSeq, index
from moda_cli.ffmpeg import read_frames
from moda_cli.motion.motionfile import read_motion, write_motion

SECONDS = 3.0
PHONE_FPS = 60  # Live Link Face records at 60 fps
# A Live Link Face recording's header row (its order: JawRight before JawLeft, MouthRight
# before MouthLeft), written out here rather than derived from the code under test.
LIVE_LINK_HEADER = (
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,"
    "EyeLookUpLeft,EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,"
    "EyeLookOutRight,EyeLookUpRight,EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,"
    "JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,MouthLeft,MouthSmileLeft,"
    "MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,"
    "MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,"
    "BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,"
    "NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,"
    "LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def _moda(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _frames(video: Path) -> np.ndarray:
    return np.stack(list(read_frames(video)))


def _random_motion(frames: int, fps: float = 25.0) -> MotionSeq:
    rng = np.random.default_rng(3)
    return MotionSeq(rng.uniform(LOW, HIGH, (frames, NUM_PARAMS)).astype(np.float32), fps)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("mf_audio") / "speech.wav", speechlike(SECONDS))


def test_the_joint_space_is_apples_vocabulary_and_the_core_lifts_into_it():
    names = arkit.BLENDSHAPE_NAMES
    assert len(names) == len(set(names)) == 52 and PARAM_NAMES[6:] == names
    assert names[:2] == ("eyeBlinkLeft", "eyeLookDownLeft") and names[-1] == "tongueOut"
    assert names[14:19] == ("jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose")
    linked = {link.core for link in core.LINKS}
    assert linked == set(core.CORE_EXPRESSION_NAMES)  # every core coefficient has its shapes
    assert all(n in names for link in core.LINKS for n in link.shapes)
    rng = np.random.default_rng(3)
    motion = rng.uniform(core.CORE_LOW, core.CORE_HIGH, (40, core.NUM_CORE)).astype(np.float32)
    joint = core.lift(motion)
    assert joint[:, 6:].min() >= 0 and joint[:, 6:].max() <= 1
    np.testing.assert_allclose(core.lower(joint), motion, atol=1e-5)
    # moda's widest speech opening is a third of ARKit's fully open jaw
    speech = np.zeros(core.NUM_CORE, np.float32)
    speech[core.core_index("jaw_open")] = speech[core.core_index("lip_press")] = 1.0
    shapes = dict(zip(PARAM_NAMES, core.lift(speech), strict=True))
    assert shapes["jawOpen"] == pytest.approx(1 / 3) and shapes["mouthClose"] == shapes["jawOpen"]


def test_json_reads_back_bit_for_bit_and_csv_has_live_links_layout(tmp_path):
    motion = _random_motion(60)
    write_motion(tmp_path / "m.json", motion)
    track = read_motion(tmp_path / "m.json")
    assert track.params.tobytes() == motion.params.tobytes() and track.fps == 25.0
    held = track.at_fps(25.0, 70)  # longer audio: the last row held; shorter: cut
    assert np.array_equal(held[:60], motion.params) and np.array_equal(
        held[60:], held[59:60].repeat(10, 0)
    )

    write_motion(tmp_path / "m.csv", motion)
    rows = list(csv.reader((tmp_path / "m.csv").read_text().splitlines()))
    assert ",".join(rows[0]) == LIVE_LINK_HEADER
    assert len(rows) == 1 + 60 and {r[1] for r in rows[1:]} == {"61"}
    assert rows[1][0] == "00:00:00:00.000" and rows[26][0] == "00:00:01:00.000"
    back = read_motion(tmp_path / "m.csv").at_fps(25.0, 60)
    rotations_and_expressions = [0, 1, 2, *range(6, NUM_PARAMS)]  # the CSV has no shift, scale
    np.testing.assert_allclose(
        back[:, rotations_and_expressions], motion.params[:, rotations_and_expressions], atol=1e-4
    )
    # the eye angles come from the eyeLook shapes: looking out turns the left eye towards
    # the image's right (positive yaw) and the right eye towards its left
    table = list(csv.DictReader((tmp_path / "m.csv").read_text().splitlines()))
    params = motion.params
    out_in = params[:, index("eyeLookOutLeft")] - params[:, index("eyeLookInLeft")]
    yaw = np.array([float(r["LeftEyeYaw"]) for r in table])
    np.testing.assert_allclose(yaw, np.deg2rad(arkit.EYE_LOOK_DEG * out_in), atol=1e-5)
    out_in = params[:, index("eyeLookOutRight")] - params[:, index("eyeLookInRight")]
    yaw = np.array([float(r["RightEyeYaw"]) for r in table])
    np.testing.assert_allclose(yaw, -np.deg2rad(arkit.EYE_LOOK_DEG * out_in), atol=1e-5)


def test_timecodes_are_read_at_the_rate_the_frames_count_to(tmp_path):
    # A 30 fps take crossing a second: the rate is one more than the largest frame number;
    # lowerCamel names, "BlendshapeCount" spelt as some recordings do, a trailing comma.
    lines = ["Timecode,BlendshapeCount,jawOpen,"]
    lines += [f"09:59:59:{f:02d}.500,61,{f / 100}," for f in range(27, 30)]
    lines += [f"10:00:00:{f:02d}.500,61,{(30 + f) / 100}," for f in range(3)]
    (tmp_path / "take.csv").write_text("\n".join(lines))
    track = read_motion(tmp_path / "take.csv")
    np.testing.assert_allclose(track.times, np.arange(6) / 30)
    np.testing.assert_allclose(track.params[:, index("jawOpen")], np.arange(27, 33) / 100,
                               rtol=1e-6)  # fmt: skip
    # resampled to 25 fps by time: frame k is at k / 25 s
    rows = track.at_fps(25.0, 4)[:, index("jawOpen")]
    np.testing.assert_allclose(rows, 0.27 + np.arange(4) * 30 / 25 / 100, rtol=1e-5)


def _phone_csv(path: Path, seconds: float = SECONDS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hand-written Live Link Face CSV at 60 fps with a few columns in its own order:
    two mouth openings, two blinks, the head turning right then left, and the tongue out
    (not rendered). Returns (times, JawOpen, HeadYaw in degrees)."""
    t = np.arange(int(seconds * PHONE_FPS)) / PHONE_FPS
    jaw = np.where(((t > 0.4) & (t < 0.9)) | ((t > 1.8) & (t < 2.4)), 0.3, 0.0)
    blink = np.where((np.abs(t - 1.3) < 0.06) | (np.abs(t - 2.7) < 0.06), 1.0, 0.0)
    yaw = np.deg2rad(18.0) * np.sin(2 * np.pi * t / SECONDS)
    lines = ["Timecode,BlendShapeCount,EyeBlinkLeft,EyeBlinkRight,JawOpen,TongueOut,HeadYaw"]
    for k in range(len(t)):  # a take that starts at 14:03:52, frame 0
        s, f = divmod(k, PHONE_FPS)
        code = f"14:03:{52 + s:02d}:{f:02d}.{(k * 7) % 1000:03d}"  # sub-frames drift a little
        lines.append(f"{code},61,{blink[k]},{blink[k]},{jaw[k]},0.2,{yaw[k]:.6f}")
    path.write_text("\n".join(lines) + "\n")
    return t, jaw, np.rad2deg(yaw)


def _measured(video: Path) -> np.ndarray:
    """(T, 17) core motion a fresh face mesh reads from ``video`` at 25 fps."""
    from moda_cli.motion.train.from_videos import motion_from_track
    from moda_cli.motion.train.tracking import track_faces

    return motion_from_track(track_faces(video, 25.0), video)[0]


def test_round_trip_gives_identical_frames_and_a_phone_csv_drives_the_face(
    tmp_path, small_portrait, audio
):
    sampled, played = tmp_path / "sampled.mp4", tmp_path / "played.mp4"
    _moda("render", small_portrait, audio, "-o", sampled, "-q", "--motion-out", tmp_path / "m.json")
    _moda(
        "render",
        small_portrait,
        audio,
        "-o",
        played,
        "-q",
        "--motion-in",
        tmp_path / "m.json",
        "--motion-out",
        tmp_path / "again.json",
    )
    first, second = _frames(sampled), _frames(played)
    assert len(first) == int(SECONDS * 25) and np.array_equal(first, second)
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "m.json").read_bytes()
    assert (
        np.ptp(read_motion(tmp_path / "m.json").params[:, index("jawOpen")]) > 0.2 * core.JAW_GAIN
    )

    t, jaw, yaw = _phone_csv(tmp_path / "phone.csv")
    driven, written = tmp_path / "driven.mp4", tmp_path / "written.csv"
    args = ["render", small_portrait, audio, "-o", driven, "--motion-in", tmp_path / "phone.csv"]
    said = " ".join(_moda(*args, "--motion-out", written).split())  # the console wraps lines
    assert "not rendered yet" in said and "tongueOut" in said, said
    # what the video cannot show goes on to the file the render writes
    table = list(csv.DictReader(written.read_text().splitlines()))
    assert len(table) == SECONDS * 25 and {r["TongueOut"] for r in table} == {"0.200000"}
    jaw_written = np.array([float(r["JawOpen"]) for r in table])
    times = read_motion(tmp_path / "phone.csv").times  # with the timecodes' sub-frames
    np.testing.assert_allclose(jaw_written, np.interp(np.arange(75) / 25, times, jaw), atol=1e-5)
    seen = _measured(driven)
    frame_t = np.arange(len(seen)) / 25.0
    want_jaw, want_yaw = np.interp(frame_t, t, jaw), np.interp(frame_t, t, yaw)
    jaw_open, yaw_col = core.core_index("jaw_open"), core.core_index("yaw")
    r_jaw = np.corrcoef(seen[:, jaw_open], want_jaw)[0, 1]
    r_yaw = np.corrcoef(seen[:, yaw_col], want_yaw)[0, 1]
    assert r_jaw > 0.8 and r_yaw > 0.8, (r_jaw, r_yaw)
    opened = seen[want_jaw > 0.25, jaw_open].mean()
    closed = seen[want_jaw < 0.05, jaw_open].mean()
    assert opened > closed + 0.3, (opened, closed)
    assert np.sign(np.polyfit(want_yaw, seen[:, yaw_col], 1)[0]) > 0


BAD_FILES = {
    "no_timecode.csv": ("JawOpen\n0.1\n", "missing column Timecode"),
    "not_a_number.csv": ("Timecode,JawOpen\n00:00:00:00.000,wide\n", "line 2, column JawOpen"),
    "no_rows.csv": ("Timecode,JawOpen,HeadYaw\n", "no rows"),
    "typo.csv": ("Timecode,JawOpn\n00:00:00:00.000,0.1\n", "unknown column(s) JawOpn"),
    "degrees.csv": ("Timecode,HeadYaw\n00:00:00:00.000,25\n", "radians"),
    "short_row.json": (
        '{"format": "moda-motion", "version": 2, "fps": 25, "channels": '
        f'{list(PARAM_NAMES)}, "motion": [[0, 1]]}}'.replace("'", '"'),
        "motion row 1",
    ),
    "other.json": ('{"fps": 25}', "not a moda motion file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_motion_file_is_a_usage_error_naming_it(tmp_path, small_portrait, audio, name):
    text, cause = BAD_FILES[name]
    (tmp_path / name).write_text(text)
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(
        app,
        [
            "render",
            str(small_portrait),
            str(audio),
            "-o",
            str(out),
            "-q",
            "--motion-in",
            str(tmp_path / name),
        ],
    )
    assert result.exit_code == 2, result.output
    assert name in result.output and cause in result.output, result.output
    assert not out.exists()


def test_a_batch_manifest_takes_motion_in_and_motion_out_per_row(tmp_path, small_portrait, audio):
    _phone_csv(tmp_path / "phone.csv")
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "portrait,audio,output,motion_in,motion_out\n"
        f"{small_portrait},{audio},played.mp4,phone.csv,motion/played.json\n"
        f"{small_portrait},{audio},sampled.mp4,,motion/sampled.csv\n"
        f"{small_portrait},{audio},bad.mp4,missing.csv,\n"
    )
    out = tmp_path / "out"

    def batch() -> list[str]:
        result = CliRunner().invoke(app, ["batch", str(manifest), "-o", str(out), "-q"])
        assert result.exit_code == 1, result.output  # the bad row fails alone
        jobs = json.loads((out / "report.json").read_text())["jobs"]
        assert "missing.csv" in jobs[2]["error"] and "not found" in jobs[2]["error"]
        return [j["status"] for j in jobs]

    assert batch() == ["done", "done", "failed"]
    played = read_motion(out / "motion" / "played.json")  # relative: under --output
    phone = read_motion(tmp_path / "phone.csv")  # relative: beside the manifest
    assert played.params.tobytes() == phone.at_fps(25.0, 75).tobytes()
    assert len((out / "motion" / "sampled.csv").read_text().splitlines()) == 1 + 75
    assert batch() == ["skipped", "skipped", "failed"]
    _phone_csv(tmp_path / "phone.csv", seconds=2.0)  # another take: its job renders again
    assert batch() == ["done", "skipped", "failed"]
