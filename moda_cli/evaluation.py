"""`moda eval`: render held-out cases and judge them from the rendered frames.

Nothing here reads the generator's own numbers back: each generator's motion is
rendered on a real portrait and the face mesh measures the frames. Held-out clips use
sentences and voices never seen in training (see ``motion.train.corpus``).

Metrics (per generator, over the held-out clips):
  mouth_corr      Pearson correlation of the measured inner-lip gap with the viseme target.
  pbm_closed      share of p/b/m occurrences where the lips actually close.
  vowel_open      specificity: share of open-vowel nuclei where the mouth is NOT shut
                  (a mouth that babbles shut everywhere would score well on pbm_closed alone).
  silence_closed  share of pause frames (>= 0.2 s from speech) with the lips closed.
  head_std_deg    spread of the measured head rotation (per preset).
  seed_yaw_diff   mean |yaw difference| between two seeds (diversity), with
  seed_lip_corr   the correlation of the two seeds' mouth openings (same lip timing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .audio.types import AudioFeatures
from .face.detect import FaceDetector
from .face.identity import identity_features
from .face.image_io import load_portrait
from .face.measure import FaceMeasurements, FaceMeter
from .face.types import Face, Portrait
from .facemodel.core import NUM_CORE, core_index, lift, lower
from .motion.generator import MotionGenerator, MotionRequest
from .motion.train.dataset import SplitData, load_split
from .motion.train.visemes import LABEL_BILABIAL, LABEL_OPEN_VOWEL, LABEL_SILENCE
from .presets import load_preset
from .qc.figures import runs
from .render.renderer import Renderer

EVAL_SIZE = 256  # render resolution for evaluation: the mesh measures it reliably, fast


@dataclass
class EvalCase:
    features: AudioFeatures
    target_jaw: np.ndarray  # (T,) viseme target
    labels: np.ndarray  # (T,) int8 phone classes
    identity_seed: int


@dataclass
class Scores:
    mouth_corr: float
    pbm_closed: float
    vowel_open: float
    silence_closed: float
    head_std_deg: dict[str, float] = field(default_factory=dict)
    seed_yaw_diff: float = float("nan")
    seed_lip_corr: float = float("nan")


def held_out_cases(data: SplitData, max_clips: int) -> list[EvalCase]:
    cases = []
    jaw = core_index("jaw_open")
    for c in range(min(max_clips, data.num_clips)):
        s, n = int(data.clip_start[c]), int(data.clip_len[c])
        mel = data.mel[s : s + n].astype(np.float32)
        feats = AudioFeatures(mel, data.envelope[s : s + n].copy(), data.fps, n / data.fps)
        target = lower(data.motion[s : s + n])[:, jaw]  # the joint rows' jaw, in speech's scale
        cases.append(EvalCase(feats, target, data.labels[s : s + n].copy(), c))
    return cases


def measured_gap(renderer: Renderer, meter_factory: Callable[[], FaceMeter], jaw: float) -> float:
    """Inner-lip gap the mesh measures on this portrait rendered with ``jaw_open = jaw``."""
    core = np.zeros(NUM_CORE, np.float32)
    core[core_index("jaw_open")] = jaw
    frame = renderer.render(lift(core))
    return float(np.nanmean(meter_factory().measure_frames([frame] * 3).mouth_open))


def closed_threshold(renderer: Renderer, meter_factory: Callable[[], FaceMeter]) -> float:
    """Gap below which the rendered lips count as closed, calibrated on this portrait."""
    rest, half = (measured_gap(renderer, meter_factory, jaw) for jaw in (0.0, 0.5))
    return rest + 0.25 * (half - rest)


def lip_scores(m: FaceMeasurements, case: EvalCase, closed_below: float) -> dict[str, float]:
    gap, labels = np.nan_to_num(m.mouth_open, nan=0.0), case.labels
    pbm = [
        gap[max(0, a - 1) : b + 1].min() < closed_below for a, b in runs(labels == LABEL_BILABIAL)
    ]
    vowels = [
        gap[(a + b) // 2] >= closed_below for a, b in runs(labels == LABEL_OPEN_VOWEL) if b - a >= 2
    ]
    speech = labels != LABEL_SILENCE
    near = np.convolve(speech.astype(float), np.ones(11), mode="same") > 0  # within 0.2 s at 25 fps
    quiet = ~near
    corr = (
        np.corrcoef(gap, case.target_jaw)[0, 1]
        if gap.std() > 1e-6 and case.target_jaw.std() > 1e-6
        else 0.0
    )
    return {
        "mouth_corr": float(corr),
        "pbm_closed": float(np.mean(pbm)) if pbm else float("nan"),
        "vowel_open": float(np.mean(vowels)) if vowels else float("nan"),
        "silence_closed": float(np.mean(gap[quiet] < closed_below))
        if quiet.any()
        else float("nan"),
    }


class Evaluator:
    """Renders motion on one portrait and measures the frames."""

    def __init__(self, portrait_path: Path):
        settings = load_preset("natural", [f"render.size={EVAL_SIZE}", "render.output=crop"]).render
        self.portrait: Portrait = load_portrait(portrait_path)
        self.face: Face = FaceDetector().detect(self.portrait, settings)
        self.identity = identity_features(self.face.landmarks)
        self.renderer = Renderer(self.portrait, self.face, settings)
        self.closed_below = closed_threshold(self.renderer, FaceMeter)
        self.rest_gap = measured_gap(self.renderer, FaceMeter, 0.0)

    def measure(
        self,
        generator: MotionGenerator,
        case: EvalCase,
        preset: str = "natural",
        seed: int = 0,
        overrides: Sequence[str] = (),
    ) -> FaceMeasurements:
        settings = load_preset(preset, overrides).motion
        motion = generator.generate(MotionRequest(case.features, self.identity, settings, seed))
        frames = [self.renderer.render(row) for row in motion.params]
        return FaceMeter().measure_frames(frames)


def evaluate(
    generators: dict[str, MotionGenerator],
    data_dir: Path,
    portrait: Path,
    max_clips: int = 12,
    progress: Callable[[str], None] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Scores]:
    """Scores of each generator; ``overrides`` (``--set`` items) apply on top of every
    preset used."""
    say = progress or (lambda text: None)
    ev = Evaluator(portrait)
    cases = held_out_cases(load_split(data_dir, "heldout"), max_clips)
    results = {}
    for name, gen in generators.items():
        rows = []
        for i, case in enumerate(cases):
            say(f"{name}: clip {i + 1}/{len(cases)}")
            rows.append(
                lip_scores(
                    ev.measure(gen, case, seed=i, overrides=overrides), case, ev.closed_below
                )
            )
        mean: dict[str, Any] = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        scores = Scores(**mean)
        probe_cases = cases[: min(3, len(cases))]
        for preset in ("calm", "natural", "expressive"):
            say(f"{name}: head motion, {preset}")
            ms = [ev.measure(gen, c, preset, seed=7, overrides=overrides) for c in probe_cases]
            rot = np.concatenate([np.stack([m.pitch, m.yaw, m.roll], 1) for m in ms])
            scores.head_std_deg[preset] = float(np.nanmean(np.nanstd(rot, axis=0)))
        a, b = (ev.measure(gen, probe_cases[0], seed=s, overrides=overrides) for s in (1, 2))
        scores.seed_yaw_diff = float(np.nanmean(np.abs(a.yaw - b.yaw)))
        scores.seed_lip_corr = float(
            np.corrcoef(np.nan_to_num(a.mouth_open), np.nan_to_num(b.mouth_open))[0, 1]
        )
        results[name] = scores
    return results


def markdown_table(results: dict[str, Scores]) -> str:
    head = (
        "| generator | mouth corr | p/b/m closed | open vowels open | silence closed "
        "| head std calm / natural / expressive (deg) | seed yaw diff (deg) | seed lip corr |"
    )
    lines = [head, "|" + " --- |" * 8]
    for name, s in results.items():
        hs = " / ".join(
            f"{s.head_std_deg.get(p, float('nan')):.2f}" for p in ("calm", "natural", "expressive")
        )
        lines.append(
            f"| {name} | {s.mouth_corr:.3f} | {s.pbm_closed:.1%} | {s.vowel_open:.1%} | "
            f"{s.silence_closed:.1%} | {hs} | {s.seed_yaw_diff:.2f} | {s.seed_lip_corr:.3f} |"
        )
    return "\n".join(lines)
