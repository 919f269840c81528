"""What `moda qc` found: typed figures, the thresholds they are judged by, and the flags.

Every figure is measured from the video's pixels (and the audio's loudness) only; a
section is None when its input is missing (no --audio: no correlation; no --portrait
and a frame size unlike the portrait's: no background figure).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    """Limits a believable talking head stays within (issue 12, "Done when")."""

    face_found_min: float = 0.98
    gap_p95_range: tuple[float, float] = (0.03, 0.09)  # inner-lip gap / face height
    lip_delta_e_max: float = 20.0  # CIE76 delta-E against the portrait's lip
    lip_held_min: float = 0.98  # fraction of frames within lip_delta_e_max, per band
    dark_outside_max: float = 0.10  # dark pixels outside the inner lips / lip band area
    lip_thickness_range: tuple[float, float] = (0.8, 1.25)  # lower lip at wide openings / at rest
    blinks_per_min_min: float = 6.0
    blink_frames_min: float = 2.0  # median blink length: a one-frame blink goes unseen at 25 fps
    winks_max: int = 0
    background_drop_max_db: float = 1.5
    mouth_corr_min: float = 0.35  # only when audio is given


@dataclass
class MouthQC:
    """Inner-lip gap (13-14) over face height (10-152), in speech frames.

    corr: Pearson r of the gap with the audio loudness within speech (best lag within
    +-2 frames); corr_chance: the 95th percentile of the same r against circularly
    shifted loudness (what unrelated motion scores). silence_ratio: mean gap in silence
    over mean gap in speech. The last three are None without audio.
    """

    gap_p95: float
    gap_p50: float
    speech_frames: int
    corr: float | None = None
    corr_chance: float | None = None
    silence_ratio: float | None = None


@dataclass
class LipQC:
    """CIE76 delta-E of each lip band's median CIELAB colour against the reference's.

    held_upper/held_lower: fraction of face frames with delta-E <= the threshold.
    dark_outside: mean, over the widest 5% of openings, of the dark pixels between the
    outer lips (plus a margin under the lower lip) and the inner lips, as a fraction of
    the lip band area; "dark" is L* below half the reference lips' median L*.
    thickness_lower: the lower lip band's median thickness at the widest openings over the
    reference's (1 = the lip keeps its shape; a lip stretched into a line scores low).
    reference: "portrait" or "first frames".
    """

    held_upper: float
    held_lower: float
    delta_e_p95_upper: float
    delta_e_p95_lower: float
    dark_outside: float
    thickness_lower: float
    reference: str


@dataclass
class BlinkQC:
    """Blinks seen by the mesh in video mode: an eye is shut below half its open median.

    A blink: one eye shut while the other closes too (within a frame); a wink: one eye
    alone. durations: frames each blink kept an eye shut. eyes_measured: eyes the mesh
    can see open (a profile hides one; 0 leaves per_minute None: blinks unmeasurable).
    """

    per_minute: float | None
    count: int
    winks: int
    durations: list[int] = field(default_factory=list)
    eyes_measured: int = 2


@dataclass
class BackgroundQC:
    """PSNR outside the portrait's (dilated) person mask, video frames vs the portrait.

    still_db: the same PSNR for the portrait re-encoded as a still clip through moda's
    encoder with default settings; drop_db = still_db - mean_db (0 for a still scene).
    """

    mean_db: float
    min_db: float
    still_db: float
    drop_db: float
    area: float  # fraction of the frame measured


@dataclass
class Flag:
    """One figure outside its threshold, with a message a user can act on."""

    name: str
    value: float
    limit: str
    message: str


@dataclass
class QCReport:
    video: str
    frames: int
    fps: float
    face_found: float
    mouth: MouthQC | None
    lips: LipQC | None
    blinks: BlinkQC | None
    background: BackgroundQC | None
    thresholds: Thresholds = field(default_factory=Thresholds)
    flags: list[Flag] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.flags

    def to_json(self) -> dict[str, Any]:
        """A dict for ``json.dumps``: figures that could not be measured (NaN) become None."""
        return _finite({**asdict(self), "passed": self.passed})


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _flag(name: str, value: float | None, ok: bool, limit: str, message: str) -> list[Flag]:
    """[Flag] when a measured ``value`` is not ``ok``, else []."""
    return [] if value is None or ok else [Flag(name, round(float(value), 4), limit, message)]


def _mouth_flags(m: MouthQC, t: Thresholds) -> list[Flag]:
    lo, hi = t.gap_p95_range
    wide = "the mouth opens too wide for speech" if m.gap_p95 > hi else "the mouth barely opens"
    return [
        *_flag("gap_p95", m.gap_p95, lo <= m.gap_p95 <= hi, f"{lo}..{hi}", wide),
        *_flag("mouth_corr", m.corr, m.corr is None or m.corr >= t.mouth_corr_min,
               f">= {t.mouth_corr_min}", "the mouth does not follow the speech's loudness"),
    ]  # fmt: skip


def _lip_flags(lips: LipQC, t: Thresholds) -> list[Flag]:
    flags = []
    for band, held in (("upper", lips.held_upper), ("lower", lips.held_lower)):
        lost = f"the {band} lip loses its colour (delta-E > {t.lip_delta_e_max:g})"
        flags += _flag(f"lip_held_{band}", held, held >= t.lip_held_min, f">= {t.lip_held_min}",
                       f"{lost} in {1 - held:.0%} of frames")  # fmt: skip
    lo, hi = t.lip_thickness_range
    return [
        *flags,
        *_flag("dark_outside", lips.dark_outside, lips.dark_outside <= t.dark_outside_max,
               f"<= {t.dark_outside_max}", "dark mouth pixels cover the lips at wide openings"),
        *_flag("lip_thickness_lower", lips.thickness_lower, lo <= lips.thickness_lower <= hi,
               f"{lo}..{hi}", "the lower lip does not keep its thickness at wide openings"),
    ]  # fmt: skip


def judge(report: QCReport) -> list[Flag]:
    """The figures of ``report`` outside ``report.thresholds``, each as a Flag."""
    t = report.thresholds
    found = report.face_found
    flags = _flag("face_found", found, found >= t.face_found_min, f">= {t.face_found_min}",
                  "the face mesh loses the face in some frames")  # fmt: skip
    if report.mouth is not None:
        flags += _mouth_flags(report.mouth, t)
    if report.lips is not None:
        flags += _lip_flags(report.lips, t)
    if (b := report.blinks) is not None:
        rate_ok = b.per_minute is None or b.per_minute >= t.blinks_per_min_min
        flags += _flag("blinks_per_min", b.per_minute, rate_ok, f">= {t.blinks_per_min_min}",
                       "too few blinks visible to a face tracker")  # fmt: skip
        if b.durations:
            length = float(np.median(b.durations))
            flags += _flag("blink_frames", length, length >= t.blink_frames_min,
                           f">= {t.blink_frames_min:g}", "blinks too short to be seen")  # fmt: skip
        flags += _flag("winks", b.winks, b.winks <= t.winks_max, f"<= {t.winks_max}",
                       "one eye closes alone (a wink)")  # fmt: skip
    if (bg := report.background) is not None:
        still = bg.drop_db <= t.background_drop_max_db
        flags += _flag("background_drop_db", bg.drop_db, still, f"<= {t.background_drop_max_db}",
                       "the scene behind the person moves")  # fmt: skip
    return flags


def summary_rows(report: QCReport) -> list[tuple[str, str]]:
    """(figure, value) rows for a human-readable summary, in the report's order."""
    rows = [
        ("frames", f"{report.frames} at {report.fps:g} fps"),
        ("face found", f"{report.face_found:.1%}"),
    ]
    if (m := report.mouth) is not None:
        rows.append(("inner-lip gap p95 / p50", f"{m.gap_p95:.3f} / {m.gap_p50:.3f} face heights"))
        if m.corr is not None:
            rows.append(
                ("mouth vs loudness r", f"{m.corr:.2f} (chance {m.corr_chance or 0.0:.2f})")
            )
        if m.silence_ratio is not None:
            rows.append(("silence / speech opening", f"{m.silence_ratio:.2f}"))
    if (lips := report.lips) is not None:
        rows.append(
            (
                "lip colour held upper / lower",
                f"{lips.held_upper:.1%} / {lips.held_lower:.1%} "
                f"(delta-E p95 {lips.delta_e_p95_upper:.1f} / {lips.delta_e_p95_lower:.1f})",
            )
        )
        rows.append(("dark outside inner lips", f"{lips.dark_outside:.1%} of the lip area"))
        rows.append(("lower lip thickness, widest / rest", f"{lips.thickness_lower:.2f}"))
    if (b := report.blinks) is not None:
        rate = "not measurable" if b.per_minute is None else f"{b.per_minute:.1f}/min"
        rows.append(
            (
                "blinks",
                f"{rate} ({b.count}, {b.winks} winks, frames {b.durations[:8]}, "
                f"{b.eyes_measured} eyes seen)",
            )
        )
    if (bg := report.background) is not None:
        rows.append(
            (
                "background PSNR",
                f"{bg.mean_db:.2f} dB (still {bg.still_db:.2f}: drop {bg.drop_db:.2f} dB)",
            )
        )
    return rows
