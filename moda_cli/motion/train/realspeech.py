"""Recorded human speech from Debian packages: find, extract, decode, split.

The recordings are voice prompts for the Asterisk PBX, each by one voice talent:

============  ==========================================  ========  ==========================
source        Debian package(s)                           audio     transcripts
============  ==========================================  ========  ==========================
en-allison    asterisk-core-sounds-en-g722 (audio),       16 kHz    ``core-sounds-en.txt.gz``
              asterisk-core-sounds-en (transcripts)       G.722     (``name: text`` lines)
es-co         asterisk-prompt-es-co                       8 kHz GSM  numbers only (digits/N)
fr-armelle    asterisk-prompt-fr-armelle                  8 kHz GSM  numbers only (digits/N)
it-menardi    asterisk-prompt-it-menardi-wav              8 kHz wav  numbers only (digits/N)
============  ==========================================  ========  ==========================

How to obtain them (nothing is installed; the packages are only unpacked)::

    apt-get download asterisk-core-sounds-en-g722 asterisk-core-sounds-en \\
        asterisk-prompt-es-co asterisk-prompt-fr-armelle asterisk-prompt-it-menardi-wav
    for f in *.deb; do dpkg-deb -x "$f" "${f%%_*}"; done

``package_root(folder, download=True)`` does exactly this in ``folder``. A folder may also
hold the ``.deb`` files only, or one merged extracted tree; installed packages are found
under ``/`` too.

Splits (fixed, independent of order): the Spanish and French speakers are held out whole
(speakers the model never hears); of the English speaker, the only one, a stable hash of
the prompt name holds out ``HELDOUT_PROMPT_FRACTION`` of the prompts: held-out English is
the same voice saying unseen prompts, not an unseen speaker. The Italian speaker is for
training. Some packages are kept for independent measurement and refused by name
(``FORBIDDEN_PACKAGES``, and ``asterisk-core-sounds-*`` of any language but English).
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...audio.types import SAMPLE_RATE
from ...errors import MissingDependency
from ...ffmpeg import ffmpeg_path_arg, run_ffmpeg
from . import corpus

HELDOUT_PROMPT_FRACTION = 0.15

# Never to be used for training or tuning: an independent measurement relies on them.
FORBIDDEN_PACKAGES = frozenset({"pocketsphinx-testdata", "codec2-examples", "alsa-utils"})
_ASTERISK_CORE = "asterisk-core-sounds-"


@dataclass(frozen=True)
class RealSource:
    """One speaker's prompts in one Debian package (paths are inside the package's tree)."""

    name: str
    language: str  # corpus language code
    voice: str  # espeak-ng voice for the transcript's phonemes
    packages: tuple[str, ...]  # audio package first; a second one may hold the transcripts
    sounds: str  # folder of the recordings
    suffix: str  # recording file suffix
    input_format: str | None  # ffmpeg's -f for raw streams (g722, gsm); None: a container
    transcripts: str | None  # gzip "name: text" file, else only digits/N have a text
    heldout_speaker: bool


SOURCES: dict[str, RealSource] = {
    s.name: s
    for s in (
        RealSource(
            "en-allison",
            "en",
            "en-us",
            ("asterisk-core-sounds-en-g722", "asterisk-core-sounds-en"),
            "usr/share/asterisk/sounds/en_US_f_Allison",
            ".g722",
            "g722",
            "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
            False,
        ),
        RealSource(
            "es-co",
            "es",
            "es-419",
            ("asterisk-prompt-es-co",),
            "usr/share/asterisk/sounds/es",
            ".gsm",
            "gsm",
            None,
            True,
        ),
        RealSource(
            "fr-armelle",
            "fr",
            "fr",
            ("asterisk-prompt-fr-armelle",),
            "usr/share/asterisk/sounds/fr",
            ".gsm",
            "gsm",
            None,
            True,
        ),
        RealSource(
            "it-menardi",
            "it",
            "it",
            ("asterisk-prompt-it-menardi-wav",),
            "usr/share/asterisk/sounds/it_IT_f_Menardi",
            ".wav",
            None,
            None,
            False,
        ),
    )
}


class RealSpeechMissing(MissingDependency):
    """A package of recorded speech is not in the given folder (and was not downloaded)."""


def check_allowed(package: str) -> None:
    """Refuse the packages kept for independent measurement."""
    core = package.startswith(_ASTERISK_CORE)
    if package in FORBIDDEN_PACKAGES or (core and not package.startswith(_ASTERISK_CORE + "en")):
        raise ValueError(f"{package} is kept for independent measurement: never train on it")


def _fetch_hint(package: str, folder: Path) -> str:
    return (
        f"cd {folder} && apt-get download {package} && dpkg-deb -x {package}_*.deb {package}"
        " (or pass --fetch to let moda do it)"
    )


def package_root(package: str, folder: str | Path, download: bool = False) -> Path:
    """The extracted tree of ``package``: ``folder/package``, unpacked from
    ``folder/package_*.deb`` when only the .deb is there, downloaded first with
    ``apt-get download`` when ``download``; ``folder`` itself or ``/`` when they already hold
    the package's files (a merged tree, an installed package)."""
    check_allowed(package)
    folder = Path(folder)
    tree = folder / package
    if tree.is_dir():
        return tree
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs and download:
        folder.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", "download", package], folder, package)
        debs = sorted(folder.glob(f"{package}_*.deb"))
    if debs:
        # A whole tree, not a file: atomic.atomic_path removes a failed temp file but
        # not a folder, so the half-extracted tree is cleared here before a new try.
        tmp = folder / f".{package}.moda-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], folder, package)
        tmp.rename(tree)
        return tree
    for merged in (folder, Path("/")):
        if (merged / "usr/share/doc" / package).is_dir():
            return merged
    raise RealSpeechMissing(
        f"Debian package {package} not found in {folder}", hint=_fetch_hint(package, folder)
    )


def _run(cmd: list[str], cwd: Path, package: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise RealSpeechMissing(
            f"{cmd[0]} is not available to fetch {package}",
            hint=f"on a Debian system: {_fetch_hint(package, cwd)}",
        )
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RealSpeechMissing(
            f"{' '.join(cmd)} failed: {proc.stderr.strip()[-300:]}", hint=_fetch_hint(package, cwd)
        )


# ----------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    """One recording: ``key`` is its name below the sounds folder without suffix ('digits/5')."""

    source: str
    key: str
    path: Path
    text: str | None  # None: no transcript, or not speech ('[ascending tones]')

    @property
    def is_speech(self) -> bool:
        """False for tones and silences (which every package names alike)."""
        return self.text is not None or not _NOT_SPEECH.match(self.key)

    @property
    def split(self) -> corpus.Split:
        if SOURCES[self.source].heldout_speaker:
            return "heldout"
        unit = corpus.stable_unit(f"real/{self.source}/{self.key}")
        return "heldout" if unit < HELDOUT_PROMPT_FRACTION else "train"


_NOT_SPEECH = re.compile(r"(silence/|beep|.*tone\b|.*-2tone)")


def read_transcripts(path: Path) -> dict[str, str | None]:
    """``name: text`` lines of a (gzip) transcript file; '[tones]', '(silence)' are not speech."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8", "replace")
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or line.startswith(";"):
            continue
        value = value.strip()
        out[key.strip()] = None if not value or value[0] in "[(" else value
    return out


def prompts(source_name: str, folder: str | Path, download: bool = False) -> list[Prompt]:
    """Every recording of ``source_name`` (see ``SOURCES``), sorted by key."""
    if source_name not in SOURCES:
        raise ValueError(
            f"unknown real-speech source {source_name!r}; available: {', '.join(SOURCES)}"
        )
    src = SOURCES[source_name]
    roots = [package_root(p, folder, download) for p in src.packages]
    sounds = roots[0] / src.sounds
    if not sounds.is_dir():
        raise RealSpeechMissing(
            f"{sounds} does not exist: is {src.packages[0]} unpacked whole?",
            hint=_fetch_hint(src.packages[0], Path(folder)),
        )
    texts = read_transcripts(roots[-1] / src.transcripts) if src.transcripts else {}
    out = []
    for path in sorted(sounds.rglob("*" + src.suffix)):
        key = path.relative_to(sounds).with_suffix("").as_posix()
        text = texts.get(key) if src.transcripts else _number_text(key)
        out.append(Prompt(src.name, key, path, text))
    return out


def _number_text(key: str) -> str | None:
    """'digits/21' -> '21' (espeak says it in the voice's language); other keys: unknown."""
    match = re.fullmatch(r"digits/(\d+)", key)
    return match.group(1) if match else None


def decode(prompt: Prompt) -> np.ndarray:
    """(N,) float32 samples at 16 kHz (8 kHz recordings upsampled: no energy above 4 kHz)."""
    return decode_file(prompt.path, SOURCES[prompt.source].input_format)


def decode_file(path: Path, input_format: str | None = None) -> np.ndarray:
    """(N,) float32 mono samples at 16 kHz of ``path``; ``input_format`` is ffmpeg's -f for
    raw streams that carry no header (g722, gsm)."""
    args = ["-f", input_format] if input_format else []
    args += ["-i", ffmpeg_path_arg(path), "-ac", "1", "-ar", str(SAMPLE_RATE)]
    args += ["-f", "f32le", "pipe:1"]
    samples = np.frombuffer(run_ffmpeg(args, path=path), dtype="<f4")
    return np.clip(samples, -1.0, 1.0).astype(np.float32)
