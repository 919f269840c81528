"""End to end through the `moda` command: the rendered video is measured from its pixels."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from _media import speechlike, write_wav
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.face.measure import FaceMeter
from moda_cli.ffmpeg import probe, read_frames

runner = CliRunner()
FAST = ["--set", "render.size=256", "--device", "cpu"]


def moda(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, small_portrait, speech_with_pause):
    audio, pause = speech_with_pause
    out = tmp_path_factory.mktemp("render") / "clip.mp4"
    result = moda("render", small_portrait, audio, "-o", out, "--seed", "3", *FAST)
    assert result.exit_code == 0, result.output
    return out, audio, pause


def test_output_is_h264_aac_with_portrait_size_and_audio_duration(rendered, small_portrait):
    out, audio, _ = rendered
    info, src = probe(out), probe(audio)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height) == (320, 300)
    frames = sum(1 for _ in read_frames(out))
    assert abs(frames / 25.0 - src.duration_s) <= 1 / 25.0 + 1e-6
    assert not list(out.parent.glob(".*moda-tmp*"))


def test_sound_track_is_the_input_speech_in_sync(rendered):
    """The muxed AAC track is the input speech, not delayed or shifted, at a faithful level."""
    from moda_cli.audio.decode import load_audio

    out, audio, _ = rendered
    ref, got = load_audio(audio).samples, load_audio(out).samples
    n = min(len(ref), len(got))
    assert abs(len(got) - len(ref)) < 0.05 * 16_000
    lags = range(-160, 161)  # +-10 ms
    errors = [
        np.mean((ref[max(0, k) : n + min(0, k)] - got[max(0, -k) : n - max(0, k)]) ** 2)
        for k in lags
    ]
    best = int(np.argmin(errors))
    assert abs(lags[best]) <= 16, lags[best]  # within 1 ms
    snr = 10 * np.log10(np.mean(ref[:n] ** 2) / errors[best])
    assert snr > 20.0, snr


def test_face_found_in_every_frame_and_mouth_follows_speech(rendered):
    out, _, (pause_start, pause_end) = rendered
    frames = list(read_frames(out))
    m = FaceMeter().measure_frames(frames)
    assert m.detected.all(), f"face lost in frames {np.flatnonzero(~m.detected)}"
    t = (np.arange(len(frames)) + 0.5) / 25.0
    silent = (t > pause_start + 0.3) & (t < pause_end - 0.3)
    speaking = ((t > 0.4) & (t < pause_start - 0.1)) | ((t > pause_end + 0.2) & (t < t[-1] - 0.4))
    open_speech = np.percentile(m.mouth_open[speaking], 80)
    open_silence = np.median(m.mouth_open[silent])
    assert open_speech > 2.0 * open_silence + 0.03, (open_speech, open_silence)
    assert open_silence < 0.08  # closed lips in the pause


def test_pixels_away_from_the_head_match_the_portrait(rendered, small_portrait):
    out, _, _ = rendered
    portrait = cv2.cvtColor(cv2.imread(str(small_portrait)), cv2.COLOR_BGR2RGB).astype(np.int16)
    for frame in list(read_frames(out))[::10]:
        for ys, xs in (
            (slice(0, 20), slice(0, 20)),
            (slice(0, 20), slice(-20, None)),
            (slice(-20, None), slice(0, 20)),
        ):
            diff = np.abs(frame[ys, xs].astype(np.int16) - portrait[ys, xs]).mean()
            assert diff < 4.0, diff  # only H.264 quantisation


def test_same_seed_same_video_and_other_seed_differs(rendered, small_portrait, tmp_path):
    out, audio, _ = rendered

    def digest(path: Path) -> str:
        return hashlib.sha256(b"".join(f.tobytes() for f in read_frames(path))).hexdigest()

    again = tmp_path / "again.mp4"
    assert moda("render", small_portrait, audio, "-o", again, "--seed", "3", *FAST).exit_code == 0
    assert digest(again) == digest(out)
    other = tmp_path / "other.mp4"
    assert moda("render", small_portrait, audio, "-o", other, "--seed", "4", *FAST).exit_code == 0
    assert digest(other) != digest(out)


def test_frames_rendered_in_batches_give_the_same_video(
    rendered, small_portrait, tmp_path, monkeypatch
):
    """On a GPU frames render a batch per task: the batching must not drop, repeat or reorder
    frames."""
    from moda_cli.render.renderer import Renderer

    out, audio, _ = rendered
    monkeypatch.setattr(Renderer, "batch_size", property(lambda self: 7))
    batched = tmp_path / "batched.mp4"
    assert moda("render", small_portrait, audio, "-o", batched, "--seed", "3", *FAST).exit_code == 0
    for a, b in zip(read_frames(out), read_frames(batched), strict=True):
        assert np.array_equal(a, b)


def test_crop_output_and_baseline_generator(small_portrait, speech_with_pause, tmp_path):
    audio, _ = speech_with_pause
    out = tmp_path / "crop.mp4"
    result = moda(
        "render",
        small_portrait,
        audio,
        "-o",
        out,
        "--generator",
        "baseline",
        "--set",
        "render.output=crop",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert (info.width, info.height) == (256, 256)


def test_a_large_photo_is_downscaled_to_render_max_side(small_portrait, tmp_path):
    """A phone photo must not become a 12-megapixel video: paste-back output is capped at
    render.max_side (1920 by default), and the face is still found in the frames."""
    big = tmp_path / "big.jpg"
    cv2.imwrite(
        str(big),
        cv2.resize(cv2.imread(str(small_portrait)), (2400, 2250), interpolation=cv2.INTER_CUBIC),
    )
    audio = write_wav(tmp_path / "speech.wav", speechlike(1.0))
    for extra, size in (([], (1920, 1800)), (["--set", "render.max_side=600"], (600, 562))):
        out = tmp_path / f"{size[0]}.mp4"
        result = moda("render", big, audio, "-o", out, "--generator", "baseline", *extra, *FAST)
        assert result.exit_code == 0, result.output
        info = probe(out)
        assert (info.width, info.height) == size
        frames = list(read_frames(out))
        assert FaceMeter().measure_frames(frames[::6]).detected.all()


def test_bad_inputs_fail_with_one_line_and_no_output(tmp_path, small_portrait, speech_with_pause):
    audio, _ = speech_with_pause
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    silent = write_wav(tmp_path / "silent.wav", np.zeros(32000, np.float32))
    cases = [
        ((blank, audio), 1, "no face"),
        ((text, audio), 1, "notes.png"),
        ((small_portrait, silent), 1, "silent"),
        ((small_portrait, tmp_path / "missing.wav"), 1, "missing.wav"),
    ]
    for (img, wav), code, needle in cases:
        out = tmp_path / "out.mp4"
        result = runner.invoke(app, ["render", str(img), str(wav), "-o", str(out), *FAST])
        assert result.exit_code == code, result.output
        assert needle in result.output.lower() or needle in result.output, result.output
        assert not out.exists() and not list(tmp_path.glob(".*moda-tmp*"))
    result = runner.invoke(
        app,
        [
            "render",
            str(small_portrait),
            str(audio),
            "-o",
            str(tmp_path / "o.mp4"),
            "--set",
            "motion.head=loud",
        ],
    )
    assert result.exit_code == 2 and "motion.head" in result.output


def test_missing_ffmpeg_is_reported(tmp_path, small_portrait, speech_with_pause, monkeypatch):
    audio, _ = speech_with_pause
    monkeypatch.setenv("MODA_FFMPEG", str(tmp_path / "no-ffmpeg"))
    result = runner.invoke(
        app, ["render", str(small_portrait), str(audio), "-o", str(tmp_path / "o.mp4")]
    )
    assert result.exit_code != 0 and "ffmpeg" in result.output.lower()


def test_batch_folder_keeps_going_and_resumes(tmp_path, small_portrait, speech_with_pause):
    audio, _ = speech_with_pause
    src = tmp_path / "in"
    src.mkdir()
    (src / "anna.png").write_bytes(small_portrait.read_bytes())
    (src / "anna.wav").write_bytes(audio.read_bytes())
    (src / "broken.png").write_text("nope")
    (src / "broken.wav").write_bytes(audio.read_bytes())
    (src / "lonely.wav").write_bytes(audio.read_bytes())
    out = tmp_path / "out"
    result = moda("batch", src, "-o", out, *FAST)
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    status = {j["name"]: j["status"] for j in report["jobs"]}
    assert status == {"anna": "done", "broken": "failed"}
    assert any("lonely.wav" in u for u in report["unpaired"])
    done = next(j for j in report["jobs"] if j["status"] == "done")
    assert done["frames"] > 0 and done["stage_seconds"]["render"] > 0 and done["seed"] == 42
    assert set(done["stage_peak_rss_mb"]) == {"face", "audio", "motion", "render", "encode"}
    assert all(mb > 50 for mb in done["stage_peak_rss_mb"].values())
    assert (out / "anna__anna.mp4").is_file() and not (out / "broken__broken.mp4").exists()
    again = moda("batch", src, "-o", out, "--json", "-q", *FAST)
    doc = json.loads(again.stdout[again.stdout.index("{") :])
    assert {j["name"]: j["status"] for j in doc["jobs"]}["anna"] == "skipped"
