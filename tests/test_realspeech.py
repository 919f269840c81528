"""Recorded-speech packages: found, unpacked, decoded and split; refused when kept apart.

The package here is one the test builds itself (espeak speech in the layout of
asterisk-prompt-it-menardi-wav), so nothing depends on a download or on /work/assets.
"""

import gzip
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from moda_cli.audio.types import AudioFeatures
from moda_cli.evaluation import EvalCase
from moda_cli.evaluation_real import RealCase, loudness_scores, silence_ratio, speech_gate_corr
from moda_cli.facemodel.core import core_index, lower
from moda_cli.motion.train import realspeech
from moda_cli.motion.train.dataset import DataRecipe, make_clip
from moda_cli.motion.train.speech import synthesize
from moda_cli.motion.train.visemes import LABEL_SILENCE

PACKAGE = "asterisk-prompt-it-menardi-wav"


def _write_wav(path: Path, samples: np.ndarray, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples[:: 16000 // rate], -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


@pytest.fixture
def package_folder(tmp_path: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not available")
    tree = tmp_path / "build"
    sounds = tree / realspeech.SOURCES["it-menardi"].sounds
    _write_wav(sounds / "digits" / "7.wav", synthesize("sette", "it").samples)  # held out
    _write_wav(sounds / "digits" / "5.wav", synthesize("cinque", "it+f2", rate_wpm=120).samples)
    _write_wav(sounds / "beep.wav", 0.3 * np.sin(np.arange(8000) * 0.3))
    (tree / "usr/share/doc" / PACKAGE).mkdir(parents=True)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {PACKAGE}\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@t>\n"
        "Description: test prompts\n"
    )
    folder = tmp_path / "packages"
    folder.mkdir()
    subprocess.run(
        [
            "dpkg-deb",
            "--build",
            "--root-owner-group",
            str(tree),
            str(folder / f"{PACKAGE}_1.0_all.deb"),
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_a_deb_in_the_folder_is_unpacked_and_its_prompts_decoded(package_folder: Path):
    prompts = {p.key: p for p in realspeech.prompts("it-menardi", package_folder)}
    assert set(prompts) == {"digits/5", "digits/7", "beep"}
    assert (package_folder / PACKAGE).is_dir()  # unpacked once, reused next time
    seven = prompts["digits/7"]
    assert seven.text == "7" and seven.is_speech and not prompts["beep"].is_speech
    samples = realspeech.decode(seven)
    assert samples.dtype == np.float32 and 0.2 < len(samples) / 16000 < 2.0
    assert np.abs(samples).max() > 0.05


def test_a_missing_package_says_how_to_get_it(tmp_path: Path):
    with pytest.raises(realspeech.RealSpeechMissing) as info:
        realspeech.prompts("fr-armelle", tmp_path)
    assert "apt-get download asterisk-prompt-fr-armelle" in str(info.value)


@pytest.mark.parametrize(
    "package",
    [
        "asterisk-core-sounds-fr",
        "asterisk-core-sounds-ru-gsm",
        "pocketsphinx-testdata",
        "codec2-examples",
        "alsa-utils",
    ],
)
def test_packages_kept_for_independent_measurement_are_refused(package: str, tmp_path: Path):
    with pytest.raises(ValueError, match="independent measurement"):
        realspeech.package_root(package, tmp_path, download=True)
    realspeech.check_allowed("asterisk-core-sounds-en-g722")  # English is allowed


def test_transcripts_and_splits(tmp_path: Path):
    path = tmp_path / "t.txt.gz"
    path.write_bytes(
        gzip.compress(
            b"; comment\nhello: Hello there.\nbeep: [a tone]\nsilence/1: (1 second of silence)\n"
        )
    )
    assert realspeech.read_transcripts(path) == {
        "hello": "Hello there.",
        "beep": None,
        "silence/1": None,
    }
    english = [realspeech.Prompt("en-allison", f"p{i}", path, "x") for i in range(400)]
    share = np.mean([p.split == "heldout" for p in english])
    assert abs(share - realspeech.HELDOUT_PROMPT_FRACTION) < 0.06
    assert realspeech.Prompt("es-co", "p1", path, None).split == "heldout"  # a held-out speaker


def test_real_speech_metrics_on_known_answers():
    rng = np.random.default_rng(0)
    envelope = np.clip(np.sin(np.arange(300) * 0.7) + rng.normal(0, 0.1, 300), 0, None)
    speech = np.zeros(300, bool)
    speech[50:250] = True
    follows = np.where(speech, 0.1 + envelope, 0.1)
    r, chance = loudness_scores(follows, envelope, speech)
    assert r > 0.95 and abs(chance) < 0.3
    assert silence_ratio(follows, speech, rest_gap=0.1) == pytest.approx(0.0)
    always_open = np.full(300, 0.5)
    assert silence_ratio(always_open, speech, rest_gap=0.1) == pytest.approx(1.0)
    feats = AudioFeatures(
        np.zeros((300, 4, 80), np.float32), envelope.astype(np.float32), 25.0, 12.0
    )
    gate = speech_gate_corr(
        RealCase(EvalCase(feats, envelope, speech.astype(np.int8), 0), speech, "es-co", [])
    )
    assert abs(gate) < 0.5 * r  # a speech detector scores far below a mouth that follows


def test_a_recipe_mixes_recorded_prompts_into_training_clips(package_folder: Path):
    recipe = DataRecipe(
        num_clips=2, clip_seconds=(2.0, 3.0), real_fraction=1.0, real_sources=("it-menardi",)
    )
    clip = make_clip(recipe, "train", 0, package_folder)
    assert clip.meta["real"] and set(clip.meta["sentences"]) == {"5"}  # never held-out '7'
    speech = clip.labels != LABEL_SILENCE
    assert 0.2 < speech.mean() < 0.9
    jaw = lower(clip.motion)[:, core_index("jaw_open")]
    assert jaw[speech].max() > 0.3 and jaw[~speech].mean() < 0.5 * jaw[speech].mean()
    assert np.isfinite(clip.motion).all()
    with pytest.raises(ValueError, match="folder"):
        make_clip(recipe, "train", 0)
    synthetic = DataRecipe(num_clips=2, clip_seconds=(2.0, 3.0))
    assert synthetic.recipe_hash() != recipe.recipe_hash()
    assert "real_fraction" not in synthetic.to_json()  # synthetic recipes keep their old hash


def test_cli_checks_real_speech_arguments_before_any_work(tmp_path: Path):
    from typer.testing import CliRunner

    from moda_cli.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--suite", "real"])
    assert result.exit_code == 2 and "--real-speech" in result.output
    result = runner.invoke(app, ["eval", "--suite", "bogus"])
    assert result.exit_code == 2 and "espeak, real or both" in result.output
    result = runner.invoke(
        app,
        ["train", "--data", str(tmp_path / "d"), "--clips", "1", "--real-speech", str(tmp_path)],
    )
    assert (
        result.exit_code != 0 and "apt-get download asterisk-core-sounds-en-g722" in result.output
    )
    assert not (tmp_path / "d" / "dataset.json").exists()
