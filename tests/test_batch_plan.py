import json
import os
from pathlib import Path

import pytest

from moda_cli.batch.manifest import plan_manifest
from moda_cli.batch.outputs import assign_outputs
from moda_cli.batch.plan import plan_folder
from moda_cli.batch.state import JobBusy, is_done, job_key, job_lock, write_sidecar
from moda_cli.errors import UsageError


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_pairing_rules(tmp_path: Path):
    touch(tmp_path / "anna.jpg"), touch(tmp_path / "anna.wav")
    touch(tmp_path / "bob.png"), touch(tmp_path / "bob__en.wav"), touch(tmp_path / "bob__de.mp3")
    touch(tmp_path / "lonely.png"), touch(tmp_path / "orphan.wav")
    touch(tmp_path / "carol" / "face.jpg"), touch(tmp_path / "carol" / "take one.wav")
    os.symlink(tmp_path, tmp_path / "loop")  # a symlink loop must not hang or crash
    (tmp_path / "self").symlink_to(tmp_path / "self")
    plan = plan_folder(tmp_path)
    pairs = sorted((j.portrait.name, j.audio.name) for j in plan.jobs)
    assert pairs == [
        ("anna.jpg", "anna.wav"),
        ("bob.png", "bob__de.mp3"),
        ("bob.png", "bob__en.wav"),
        ("face.jpg", "take one.wav"),
    ]
    assert sorted(p.name for p in plan.unpaired) == ["lonely.png", "orphan.wav"]


def test_manifest_formats_and_row_errors(tmp_path: Path):
    touch(tmp_path / "a.jpg"), touch(tmp_path / "a.wav")
    (tmp_path / "jobs.csv").write_text(
        "portrait,audio,output,seed,set\n"
        "a.jpg,a.wav,,7,motion.head=0.5;video.crf=20\n"
        "a.jpg,,,,\n"
        "a.jpg,a.wav,x.mp4,notanint,\n"
    )
    jobs = plan_manifest(tmp_path / "jobs.csv").jobs
    assert jobs[0].portrait == tmp_path / "a.jpg" and jobs[0].seed == 7
    assert jobs[0].overrides == ["motion.head=0.5", "video.crf=20"]
    assert "missing column(s) audio" in jobs[1].error
    assert "not an integer" in jobs[2].error
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"portrait": "a.jpg", "audio": "a.wav", "set": {"motion.lips": 1.2}})
        + "\n{bad\n"
    )
    jsonl = plan_manifest(tmp_path / "jobs.jsonl").jobs
    assert jsonl[0].overrides == ["motion.lips=1.2"] and jsonl[1].error
    (tmp_path / "jobs.yaml").write_text(
        "jobs:\n  - {portrait: a.jpg, audio: a.wav, preset: calm, colour: red}\n"
    )
    assert "unknown column(s) colour" in plan_manifest(tmp_path / "jobs.yaml").jobs[0].error


def test_output_template_and_collisions(tmp_path: Path):
    (
        touch(tmp_path / "in" / "anna.jpg"),
        touch(tmp_path / "in" / "anna__en.wav"),
        touch(tmp_path / "in" / "anna__de.wav"),
    )
    plan = plan_folder(tmp_path / "in")
    assign_outputs(plan, tmp_path / "out")
    assert sorted(j.output.name for j in plan.jobs) == ["anna__anna__de.mp4", "anna__anna__en.mp4"]
    plan = plan_folder(tmp_path / "in")
    with pytest.raises(UsageError, match="would both write"):
        assign_outputs(plan, tmp_path / "out", "{portrait}.mp4")
    with pytest.raises(UsageError, match="unknown field"):
        assign_outputs(plan_folder(tmp_path / "in"), tmp_path / "out", "{nope}.mp4")


def test_resume_key_changes_with_inputs_and_settings(tmp_path: Path):
    img, wav, out = (
        touch(tmp_path / "a.jpg", b"img"),
        touch(tmp_path / "a.wav", b"wav"),
        tmp_path / "a.mp4",
    )
    key = job_key(img, wav, {"seed": 1}, "m")
    assert key != job_key(img, wav, {"seed": 2}, "m") and key != job_key(
        img, wav, {"seed": 1}, "m2"
    )
    assert not is_done(out, key)
    out.write_bytes(b"video")
    write_sidecar(out, key, {"status": "done"})
    assert is_done(out, key)
    img.write_bytes(b"changed")
    assert not is_done(out, job_key(img, wav, {"seed": 1}, "m"))


def test_job_lock_excludes_a_second_holder(tmp_path: Path):
    out = tmp_path / "a.mp4"
    with job_lock(out), pytest.raises(JobBusy), job_lock(out):
        pass
    with job_lock(out):  # released: can be taken again
        pass
    assert not list(tmp_path.glob(".*.lock"))
