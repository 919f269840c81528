"""Audio decoding (any format to 16 kHz mono), its error messages, and the Whisper encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import whisper
from _media import dominant_freq, speechlike, transcode, video_with_audio, write_wav

from moda_cli.audio.decode import check_audio, load_audio
from moda_cli.audio.features import compute_features, log_mel
from moda_cli.audio.whisper_encoder import WhisperEncoder
from moda_cli.errors import AudioDecodeError, MissingDependency, ModelLoadError


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    """1.6 s of 16 kHz speech-like sound: the source of the other formats."""
    return write_wav(tmp_path_factory.mktemp("src") / "speech.wav", speechlike(1.6))


def test_wav_16k_round_trip(speech_wav):
    audio = load_audio(speech_wav)
    assert audio.sample_rate == 16_000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert len(audio.samples) == 25_600
    # 16-bit quantisation is the only loss.
    np.testing.assert_allclose(audio.samples, speechlike(1.6), atol=1e-4)


@pytest.mark.parametrize(
    "name,args",
    [
        ("speech.mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
        ("speech.ogg", ["-c:a", "libvorbis"]),
        ("speech.m4a", ["-c:a", "aac"]),
        ("speech_8k.wav", ["-ar", "8000"]),
        ("speech_48k_stereo.wav", ["-ar", "48000", "-ac", "2"]),
        ("speech.flac", []),
    ],
)
def test_formats_decode_to_16k_mono(tmp_path, speech_wav, name, args):
    audio = load_audio(transcode(speech_wav, tmp_path / name, *args))
    assert audio.sample_rate == 16_000
    assert audio.duration_s == pytest.approx(1.6, abs=0.06)  # codec padding is trimmed
    assert dominant_freq(audio.samples, 16_000) == pytest.approx(220, abs=5)


def test_stereo_is_averaged(tmp_path):
    left = speechlike(1.0, rate=48_000, freq=330.0)
    path = write_wav(
        tmp_path / "left_only.wav", np.stack([left, np.zeros_like(left)], 1), rate=48_000
    )
    audio = load_audio(path)
    assert audio.duration_s == pytest.approx(1.0, abs=1e-3)
    assert np.max(np.abs(audio.samples)) == pytest.approx(
        0.25, abs=0.03
    )  # mean of 0.5 and 0 (ffmpeg alone: 0.35)
    assert dominant_freq(audio.samples, 16_000) == pytest.approx(330, abs=5)


def test_identical_stereo_keeps_its_level(tmp_path):
    mono = speechlike(1.0, rate=48_000, level=0.9)
    audio = load_audio(
        write_wav(tmp_path / "dual_mono.wav", np.stack([mono, mono], 1), rate=48_000)
    )
    assert np.max(np.abs(audio.samples)) == pytest.approx(
        0.9, abs=0.02
    )  # not 3 dB hotter, not clipped


def test_video_with_audio(tmp_path, speech_wav):
    path = video_with_audio(tmp_path / "clip.mp4", speech_wav, seconds=1.6)
    info = check_audio(path)
    assert info.has_video and info.has_audio and info.audio_codec == "aac"
    assert load_audio(path).duration_s == pytest.approx(1.6, abs=0.06)


@pytest.mark.parametrize("name", ["with space.wav", "ünïcødé 音声.wav", "-leading-dash.wav"])
def test_awkward_names(tmp_path, monkeypatch, name):
    write_wav(tmp_path / name, speechlike(0.5))
    monkeypatch.chdir(tmp_path)  # a relative "-x.wav" must not be read as an option
    assert load_audio(name).duration_s == pytest.approx(0.5, abs=1e-3)
    assert check_audio(name).audio_rate == 16_000


def _error(path) -> str:
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "nope.wav")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    assert "0 bytes" in _error(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    assert "not a readable media file" in _error(path)


def test_video_without_sound(tmp_path):
    assert "video without sound" in _error(video_with_audio(tmp_path / "mute.mp4", None))


def test_too_short(tmp_path):
    message = _error(write_wav(tmp_path / "short.wav", speechlike(0.1)))
    assert "too short: 0.10 s; at least 0.25 s of speech is needed" in message


def test_too_short_without_header_duration(tmp_path, speech_wav):
    # A raw stream has no duration in its header: the decoded length is checked too.
    raw = transcode(
        write_wav(tmp_path / "s.wav", speechlike(0.1)), tmp_path / "short.mp3", "-f", "mp3"
    )
    assert "too short" in _error(raw)


def test_silent(tmp_path):
    message = _error(write_wav(tmp_path / "silence.wav", np.zeros(16_000)))
    assert "silent" in message


def test_very_quiet_is_silent(tmp_path):
    assert "silent: peak level -70 dBFS" in _error(
        write_wav(tmp_path / "hum.wav", speechlike(1.0, level=10 ** (-70 / 20)))
    )


def test_steady_noise_has_no_speech(tmp_path):
    noise = 0.1 * np.random.default_rng(1).standard_normal(16_000)
    assert "noise floor" in _error(write_wav(tmp_path / "noise.wav", noise))


@pytest.mark.parametrize("block", [1000, 37])
def test_log_mel_matches_whisper_across_blocks(speech_wav, block):
    """Our blockwise log-mel is Whisper's (the encoder and the motion model expect its scale),
    including the reflected edges and the blocks' seams."""
    audio = load_audio(speech_wav)
    ours = log_mel(audio, block=block)
    theirs = whisper.log_mel_spectrogram(torch.from_numpy(audio.samples)).numpy().T
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_long_audio_decodes_in_place_with_a_short_header(tmp_path):
    """A header that undersells the duration still gives every sample (the buffer grows)."""
    rng = np.random.default_rng(0)
    samples = (0.3 * np.sin(np.arange(16_000 * 9) * 0.05) * rng.uniform(0.5, 1, 16_000 * 9)).astype(
        np.float32
    )
    path = write_wav(tmp_path / "long.wav", samples)
    from moda_cli.audio import decode

    got = decode._decode(path, 1, duration_s=1.0)
    assert len(got) == len(samples)
    np.testing.assert_allclose(got, samples, atol=1e-4)


def test_check_audio_reads_only_the_header(tmp_path, speech_wav):
    info = check_audio(
        transcode(speech_wav, tmp_path / "s.ogg", "-c:a", "libvorbis", "-ar", "44100", "-ac", "2")
    )
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("vorbis", 44100, 2)
    assert info.duration_s == pytest.approx(1.6, abs=0.05) and not info.has_video


# -- Whisper encoder -------------------------------------------------------------------

TINY_WIDTH = 64


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised one-layer Whisper in the openai checkpoint format."""
    dims = whisper.model.ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=TINY_WIDTH,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=51865,
        n_text_ctx=8,
        n_text_state=64,
        n_text_head=2,
        n_text_layer=1,
    )
    torch.manual_seed(0)
    model = whisper.model.Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "tiny.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


def test_encoder_shape_and_features(tiny_checkpoint, speech_wav):
    audio = load_audio(speech_wav)
    emb = WhisperEncoder(tiny_checkpoint, device="cpu").encode(audio)
    assert emb.shape == (80, TINY_WIDTH) and emb.dtype == np.float32  # 1.6 s at 50 Hz
    assert np.isfinite(emb).all()
    features = compute_features(audio, 25.0, embedding=emb)
    assert features.embedding.shape == (40, TINY_WIDTH)


def test_encoder_long_audio_spans_windows(tiny_checkpoint):
    from moda_cli.audio.types import Audio

    audio = Audio(samples=speechlike(31.01))  # two 30 s windows, the second nearly empty
    emb = WhisperEncoder(tiny_checkpoint).encode(audio)
    assert emb.shape == (int(np.ceil(31.01 * 50)), TINY_WIDTH)


def test_encoder_missing_checkpoint(tmp_path):
    with pytest.raises(MissingDependency, match="checkpoint not found"):
        WhisperEncoder(tmp_path / "tiny.pt")


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_encoder_wrong_file(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, path)  # a torch file, but not whisper's layout
    else:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="not an openai-whisper checkpoint"):
        WhisperEncoder(path)
