"""ffmpeg discovery and probing, the streaming VideoWriter and read_frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from _media import speechlike, write_wav

from moda_cli.audio.decode import load_audio
from moda_cli.errors import ConfigError, FFmpegError, InputError
from moda_cli.ffmpeg import count_video_frames, ffmpeg_exe, parse_probe, probe, read_frames
from moda_cli.video.settings import VideoSettings
from moda_cli.video.writer import VideoWriter, fps_fraction
from moda_cli.video.yuv import Yuv420Frame

FPS = 25.0


def pattern(i: int, w: int = 96, h: int = 64, out: np.ndarray | None = None) -> np.ndarray:
    """Frame i of a moving pattern: a white bar sweeping right over a red/blue split."""
    frame = np.zeros((h, w, 3), np.uint8) if out is None else out
    frame[:] = (200, 30, 30)
    frame[h // 2 :] = (30, 30, 200)
    x = (i * 2) % (w - 8)
    frame[:, x : x + 8] = 255
    return frame


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "speech.wav", speechlike(1.6))


def write_clip(path: Path, n: int, audio: Path | None = None, settings=None, **kw) -> Path:
    buffer = np.zeros((64, 96, 3), np.uint8)  # reused on purpose: the writer must copy
    with VideoWriter(
        path, audio=audio, settings=settings or VideoSettings(fps=FPS), **kw
    ) as writer:
        for i in range(n):
            writer.write(pattern(i, out=buffer))
    return path


# -- ffmpeg discovery and probe ----------------------------------------------------------


def test_ffmpeg_exe_env_override(monkeypatch, tmp_path):
    real = ffmpeg_exe()
    monkeypatch.setenv("MODA_FFMPEG", real)
    assert ffmpeg_exe() == real
    monkeypatch.setenv("MODA_FFMPEG", str(tmp_path / "no-ffmpeg"))
    with pytest.raises(ConfigError, match="MODA_FFMPEG") as caught:  # a configuration error: exit 2
        ffmpeg_exe()
    assert caught.value.exit_code == 2


def test_parse_probe_debian_51_layout():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 9000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 8000 kb/s, 29.97 fps, 29.97 tbr, 90k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, 5.1(side), fltp, 256 kb/s (default)
"""
    info = parse_probe(Path("phone.mov"), text)
    assert info.duration_s == pytest.approx(62.5)
    assert (info.width, info.height) == (1080, 1920)  # displayed upright
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", pytest.approx(29.97))
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("aac", 44100, 6)


def test_parse_probe_cover_art_is_not_video():
    text = """Input #0, mp3, from 'song.mp3':
  Duration: 00:00:03.00, start: 0.025057, bitrate: 130 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500, 90k tbr, 90k tbn (attached pic)
"""
    info = parse_probe(Path("song.mp3"), text)
    assert info.has_audio and not info.has_video and info.audio_channels == 2


def test_probe_unreadable_names_the_file(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("meeting notes, not a video\n" * 10)
    with pytest.raises(InputError, match="notes.mp4: not a readable media file"):
        probe(bad)
    with pytest.raises(InputError, match="not found"):
        probe(tmp_path / "missing.mp4")


def test_fps_fraction():
    assert fps_fraction(25.0) == Fraction(25, 1)
    assert fps_fraction(29.97) == Fraction(30000, 1001)
    assert fps_fraction(12.5) == Fraction(25, 2)


# -- writer --------------------------------------------------------------------------------


def test_writer_h264_aac_durations_agree(tmp_path, speech):
    out = write_clip(tmp_path / "clip.mp4", 40, audio=speech, expected_frames=40)
    info = probe(out)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height, info.fps) == (96, 64, FPS)
    assert count_video_frames(out) == 40
    video_s = 40 / FPS
    audio_s = load_audio(out).duration_s
    assert abs(video_s - audio_s) < 1 / FPS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no temp file left


def test_read_frames_count_and_pixels(tmp_path):
    out = write_clip(tmp_path / "clip.mp4", 40)
    frames = list(read_frames(out))
    assert len(frames) == 40 and frames[0].shape == (64, 96, 3)
    for i in (0, 17, 39):
        err = np.abs(frames[i].astype(int) - pattern(i).astype(int))
        assert err.mean() < 4, f"frame {i} differs by {err.mean():.1f} on average"
    small = list(read_frames(out, size=(48, 32)))
    assert len(small) == 40 and small[0].shape == (32, 48, 3)


def test_colours_survive_the_yuv_conversion(tmp_path):
    """Saturated primaries and greys come back as they went in (BT.709 in, BT.709 tagged)."""
    colours = [
        (255, 0, 0),
        (0, 255, 0),
        (0, 0, 255),
        (255, 255, 255),
        (0, 0, 0),
        (128, 128, 128),
        (200, 150, 120),
    ]
    frame = np.zeros((64, 16 * len(colours), 3), np.uint8)
    for k, c in enumerate(colours):
        frame[:, 16 * k : 16 * (k + 1)] = c
    with VideoWriter(tmp_path / "c.mp4", settings=VideoSettings(crf=12)) as writer:
        writer.write(frame)
    back = next(read_frames(tmp_path / "c.mp4")).astype(int)
    for k, c in enumerate(colours):
        got = back[32, 16 * k + 8]
        assert np.abs(got - c).max() <= 4, f"{c} came back as {tuple(got)}"
    assert probe(tmp_path / "c.mp4").width == 16 * len(colours)


def test_regions_over_a_background(tmp_path):
    """A region write changes only the region; moving it elsewhere restores the background."""
    background = pattern(0)
    bright, dark = np.full((20, 30, 3), 250, np.uint8), np.full((20, 30, 3), 10, np.uint8)
    with VideoWriter(
        tmp_path / "r.mp4", settings=VideoSettings(fps=FPS, crf=12), background=background
    ) as writer:
        writer.write(bright, origin=(10, 8))
        writer.write(dark, origin=(50, 30))
        writer.write(pattern(5))  # a whole frame in between
        writer.write(dark, origin=(66, 44))  # ends at the frame's corner
    frames = [f.astype(int) for f in read_frames(tmp_path / "r.mp4")]
    assert len(frames) == 4

    def expected(
        region: np.ndarray | None, x: int, y: int, base: np.ndarray = background
    ) -> np.ndarray:
        out = base.astype(int)
        if region is not None:
            out[y : y + region.shape[0], x : x + region.shape[1]] = region
        return out

    for got, want in zip(
        frames,
        [
            expected(bright, 10, 8),
            expected(dark, 50, 30),
            expected(None, 0, 0, pattern(5)),
            expected(dark, 66, 44),
        ],
        strict=True,
    ):
        assert np.abs(got - want).mean() < 3


def test_region_writes_are_checked(tmp_path):
    writer = VideoWriter(tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="background"):
        writer.write(np.zeros((8, 8, 3), np.uint8), origin=(0, 0))
    writer.abort()
    with VideoWriter(tmp_path / "b.mp4", background=pattern(0)) as writer:
        with pytest.raises(ValueError, match="even"):
            writer.write(np.zeros((8, 8, 3), np.uint8), origin=(3, 0))
        with pytest.raises(ValueError, match="even"):
            writer.write(np.zeros((7, 8, 3), np.uint8), origin=(0, 0))
        with pytest.raises(ValueError, match="outside"):
            writer.write(np.zeros((8, 8, 3), np.uint8), origin=(92, 0))
        writer.write(np.zeros((8, 8, 3), np.uint8), origin=(88, 56))
    assert count_video_frames(tmp_path / "b.mp4") == 1
    assert not (tmp_path / "a.mp4").exists()


def test_read_frames_stopping_early_kills_ffmpeg(tmp_path):
    out = write_clip(tmp_path / "clip.mp4", 40)
    gen = read_frames(out)
    next(gen)
    gen.close()  # must neither hang nor raise


def test_odd_size_is_padded_by_replicating_edges(tmp_path, speech):
    out = tmp_path / "odd.mp4"
    frame = np.zeros((75, 101, 3), np.uint8)
    frame[:, -1] = (0, 220, 0)  # last column and row green: the padding must repeat them
    frame[-1, :] = (0, 220, 0)
    with VideoWriter(out, audio=speech, settings=VideoSettings(fps=FPS)) as writer:
        for _ in range(5):
            writer.write(frame)
    info = probe(out)
    assert (info.width, info.height) == (102, 76)
    first = next(read_frames(out))
    assert first[40, 101, 1] > 150 and first[75, 50, 1] > 150


def test_an_odd_size_is_kept_when_asked(tmp_path):
    """crop_to: the padded frames are cropped back to the odd size inside ffmpeg."""
    out = tmp_path / "odd.mp4"
    frame = Yuv420Frame(102, 76)
    frame.put_rgb(np.full((76, 102, 3), 200, np.uint8))
    with VideoWriter(out, settings=VideoSettings(fps=FPS), crop_to=(101, 75)) as writer:
        for _ in range(5):
            writer.write_yuv(frame)
    info = probe(out)
    assert (info.width, info.height) == (101, 75)
    assert next(read_frames(out)).shape == (75, 101, 3)


def test_exception_mid_write_leaves_nothing(tmp_path, speech):
    out = tmp_path / "out" / "clip.mp4"
    with (
        pytest.raises(RuntimeError, match="render failed"),
        VideoWriter(out, audio=speech) as writer,
    ):
        for i in range(10):
            writer.write(pattern(i))
        raise RuntimeError("render failed")
    assert list(out.parent.iterdir()) == []


def test_keyboard_interrupt_leaves_nothing_and_keeps_old_output(tmp_path, speech):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(KeyboardInterrupt), VideoWriter(out, audio=speech) as writer:
        writer.write(pattern(0))
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    assert out.read_bytes() == b"previous result"


def test_ffmpeg_failure_is_ffmpeg_error(tmp_path, speech):
    out = tmp_path / "clip.mp4"
    settings = VideoSettings(fps=FPS, audio_bitrate="lots")
    with pytest.raises(FFmpegError) as info:
        write_clip(out, 40, audio=speech, settings=settings)
    assert info.value.stderr and "lots" in " ".join(info.value.cmd)
    assert list(tmp_path.iterdir()) == []


def test_frame_count_mismatch_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="39 frames written, 40 expected"):
        write_clip(tmp_path / "clip.mp4", 39, expected_frames=40)
    assert list(tmp_path.iterdir()) == []


def test_wrong_frames_rejected(tmp_path):
    with VideoWriter(tmp_path / "clip.mp4") as writer:
        writer.write(pattern(0))
        with pytest.raises(ValueError, match="uint8"):
            writer.write(pattern(1).astype(np.float32))
        with pytest.raises(ValueError, match="96x64"):
            writer.write(np.zeros((32, 32, 3), np.uint8))
    assert count_video_frames(tmp_path / "clip.mp4") == 1


@pytest.mark.parametrize("name", ["with space.mp4", "ünïcødé 视频.mp4", "-dash.mp4"])
def test_awkward_output_names(tmp_path, monkeypatch, speech, name):
    monkeypatch.chdir(tmp_path)
    write_clip(Path(name), 5, audio=speech)
    assert count_video_frames(name) == 5
    assert len(list(read_frames(name))) == 5


def test_ntsc_rate(tmp_path):
    out = write_clip(tmp_path / "ntsc.mp4", 10, settings=VideoSettings(fps=29.97))
    assert probe(out).fps == pytest.approx(29.97)
