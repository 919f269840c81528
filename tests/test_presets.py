from pathlib import Path

import pytest

from moda_cli.errors import PresetError
from moda_cli.presets import Preset, available_presets, load_preset, preset_to_yaml


def test_shipped_presets_validate_and_differ():
    names = set(available_presets())
    assert {"natural", "calm", "expressive", "still"} <= names
    natural, calm, expressive, still = (
        load_preset(n) for n in ("natural", "calm", "expressive", "still")
    )
    assert calm.motion.head < natural.motion.head < expressive.motion.head
    assert still.motion.head == 0 and still.motion.expression == 0
    assert still.motion.lips == natural.motion.lips  # lips and blinks stay


def test_extends_inherits_unset_keys(tmp_path: Path):
    child = tmp_path / "mine.yaml"
    child.write_text("extends: calm\nmotion:\n  lips: 0.7\n")
    p = load_preset(child)
    assert p.motion.lips == 0.7
    assert p.motion.head == load_preset("calm").motion.head  # from calm
    assert p.video.crf == load_preset("natural").video.crf  # from calm's parent


def test_set_overrides_beat_the_file():
    p = load_preset("calm", ["motion.head=0.9", "video.crf=23", "render.output=crop"])
    assert (p.motion.head, p.video.crf, p.render.output) == (0.9, 23, "crop")


@pytest.mark.parametrize(
    "body, needle",
    [
        ("motion:\n  hed: 1\n", "motion.hed"),
        ("motion:\n  head: lots\n", "motion.head"),
        ("video:\n  fps: 1000\n", "video.fps"),
        ("colour: red\n", "colour"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_bad_preset_names_file_and_key(tmp_path: Path, body: str, needle: str):
    f = tmp_path / "bad.yaml"
    f.write_text(body)
    with pytest.raises(PresetError) as info:
        load_preset(f)
    assert needle in str(info.value) and "bad.yaml" in str(info.value)


def test_extends_cycle_and_unknown_names(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(PresetError, match="cycle"):
        load_preset(tmp_path / "a.yaml")
    with pytest.raises(PresetError, match="unknown preset 'nope'"):
        load_preset("nope")
    with pytest.raises(PresetError, match="key=value"):
        load_preset("natural", ["motion.head"])


def test_yaml_round_trip(tmp_path: Path):
    p = load_preset("expressive", ["seed=7"])
    f = tmp_path / "copy.yaml"
    f.write_text(preset_to_yaml(p))
    assert load_preset(f) == p
    assert Preset.model_validate(p.model_dump()) == p
