"""Nothing imports upward: the packages follow the data flow face -> audio -> motion ->
render, with the presets that compose the stages' settings above them, then the pipeline,
the tools that drive it, batch, and the CLI on top.

Read from the source with ``ast``: every import counts, at the top of a module or inside a
function (a lazy import still depends on what it loads), and so do imports under
``if TYPE_CHECKING:`` (a type that names a higher layer couples the two just the same).
A module may import its own layer or any below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import moda_cli

# moda_cli's top-level modules and packages, lowest first.
LAYERS: dict[str, int] = {
    # The floor: no stage's knowledge. ``strict`` is the settings' base model,
    # ``choices`` the fixed choices that belong to no stage.
    **dict.fromkeys(
        [
            "atomic",
            "errors",
            "registry",
            "ffmpeg",
            "safe_yaml",
            "machine",
            "cpu_time",
            "quiet",
            "choices",
            "strict",
        ],
        0,
    ),
    "video": 1,  # reading and writing video files (I/O below every stage)
    "face": 2,  # the portrait: decoding, detection, the mesh
    "facemodel": 3,  # the face contract: parameters, blendshapes, head rig (from face's mesh)
    "audio": 4,
    "motion": 5,
    "render": 6,
    "presets": 7,  # composes motion/, render/ and video/ settings into one schema
    "pipeline": 8,
    **dict.fromkeys(["dub", "qc", "evaluation", "evaluation_real", "doctor"], 9),
    "batch": 10,
    **dict.fromkeys(["cli", "progress"], 11),  # progress: the CLI's bars (it reads batch)
}

ROOT = Path(moda_cli.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(text: str, module: str, is_package: bool = False) -> set[str]:
    """The moda_cli modules that ``module``'s source ``text`` imports (``from . import x``
    names ``package.x``, which may be a module or a name in the package)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: package.count(".") + 2 - node.level]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found |= {base} if node.module else {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "moda_cli"}


def _layer(module: str) -> int | None:
    top = module.split(".")[1] if "." in module else None
    return None if top is None else LAYERS.get(top)


def test_every_top_level_module_has_a_layer():
    tops = {p.stem for p in ROOT.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    tops |= {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert tops - LAYERS.keys() == set(), "place the new module in LAYERS"


def test_nothing_imports_upward():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        text = path.read_text(encoding="utf-8")
        for target in sorted(_imported(text, module, path.name == "__init__.py")):
            own, theirs = _layer(module), _layer(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module} (layer {own}) imports {target} (layer {theirs})")
    assert upward == []


def test_the_walker_sees_relative_lazy_and_type_only_imports():
    """The check above could pass by reading nothing: upward imports of each kind are found."""
    text = (
        "from typing import TYPE_CHECKING\n"
        "from ..presets import Preset\n"
        "if TYPE_CHECKING:\n    from ..batch.jobs import BatchOptions\n"
        "def f():\n    from .. import cli\n    import moda_cli.pipeline.engine\n"
    )
    found = _imported(text, "moda_cli.motion.settings")
    assert found == {
        "moda_cli.presets",
        "moda_cli.cli",
        "moda_cli.pipeline.engine",
        "moda_cli.batch.jobs",
    }
    assert min(_layer(m) or 0 for m in found) > _layer("moda_cli.motion.settings")
