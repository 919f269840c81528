"""``moda train`` through CliRunner: what the options resolve to (the data recipe and the
training config), with the data build and the training replaced by recorders."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from moda_cli.cli import app
from moda_cli.motion.train import dataset, trainer
from moda_cli.motion.train.perturb import VoicePerturbConfig


@pytest.fixture
def calls(monkeypatch, tmp_path):
    seen: dict = {}

    def build(recipe, out_dir, **kwargs):
        seen["recipe"], seen["build"] = recipe, kwargs
        return dataset.DatasetInfo(
            Path(out_dir),
            recipe.recipe_hash(),
            {"train": 1},
            {"train": 1},
            {"train": 0.0},
            0.0,
            0.0,
        )

    def train(data, cfg, out, **kwargs):
        seen["cfg"] = cfg
        return trainer.TrainResult(Path(out), cfg.steps, 1.0, 1.0, 1, 0.1, 0.1, [])

    monkeypatch.setattr(dataset, "build_dataset", build)
    monkeypatch.setattr(trainer, "train_model", train)
    return seen


def _train(tmp_path: Path, *extra: str) -> None:
    args = [
        "train",
        "--data",
        str(tmp_path / "d"),
        "-o",
        str(tmp_path / "m.safetensors"),
        "--device",
        "cpu",
        *extra,
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_defaults_keep_the_espeak_only_recipe(calls, tmp_path):
    _train(tmp_path)
    assert calls["recipe"].recipe_hash() == dataset.DataRecipe().recipe_hash()
    assert calls["cfg"].threads is None and calls["cfg"].steps == 3000


def test_the_retrain_recipe_resolves_as_documented(calls, tmp_path):
    folder = tmp_path / "speech"
    _train(
        tmp_path,
        "--real-speech",
        str(folder),
        "--real-fraction",
        "0.3",
        "--flite-fraction",
        "0.1",
        "--voice-perturb",
        "0.3",
        "--steps",
        "3000",
        "--threads",
        "1",
    )
    recipe = calls["recipe"]
    assert (recipe.real_fraction, recipe.flite_fraction) == (0.3, 0.1)
    assert recipe.voice == VoicePerturbConfig(p=0.3)
    assert recipe.recipe_hash() == "30c79777f90fcaa3"  # the README's shipped recipe
    assert calls["build"]["real_speech"] == folder
    assert (calls["cfg"].steps, calls["cfg"].threads, calls["cfg"].max_minutes) == (3000, 1, None)


def test_real_fraction_without_a_folder_is_off(calls, tmp_path):
    _train(tmp_path, "--real-fraction", "0.3")
    assert calls["recipe"].real_fraction == 0.0
