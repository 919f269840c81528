"""Motion-model checkpoints: safetensors weights + JSON metadata, never pickle.

The file alone rebuilds the model: the metadata carries the schema version, the
``MotionDiTConfig``, the motion normalisation and statistics reference values, the data
recipe hash, a training summary and the vocabulary (``facemodel.vocabulary``): the motion
parameter names and the emotion labels the weights were trained with. A checkpoint whose
vocabulary differs from this code's is refused, naming the difference; one without a
stored vocabulary was written before they were stored and is read as ``VOCABULARY_V1``,
whose motion is the old 17-channel space: refused, saying so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..atomic import atomic_path
from ..errors import MissingDependency, ModelLoadError
from ..facemodel.vocabulary import Vocabulary
from .model import MotionDiT, MotionDiTConfig
from .normalization import Normalization

SCHEMA = "moda-motion-dit"
SCHEMA_VERSION = 1
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "weights" / "motion.safetensors"


def default_checkpoint_path() -> Path:
    """$MODA_MOTION_CHECKPOINT if set, else the packaged ``moda_cli/weights/motion.safetensors``."""
    env = os.environ.get("MODA_MOTION_CHECKPOINT")
    return Path(env) if env else DEFAULT_CHECKPOINT


@dataclass
class LoadedCheckpoint:
    model: MotionDiT
    config: MotionDiTConfig
    norm: Normalization
    recipe_hash: str
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(
    path: str | Path,
    model: MotionDiT,
    norm: Normalization,
    *,
    recipe_hash: str = "",
    training: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float16,
    vocabulary: Vocabulary | None = None,
) -> Path:
    """Write atomically (``atomic_path``: temp file, then ``os.replace``). fp16 halves the
    file; inference upcasts to float32, which changes outputs by ~1e-3 of the motion's spread.
    ``vocabulary``: what the model was trained with; this code's by default."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    meta = {
        "schema": SCHEMA,
        "schema_version": str(SCHEMA_VERSION),
        "config": json.dumps(model.cfg.to_dict()),
        "normalization": json.dumps(norm.to_json()),
        "recipe_hash": recipe_hash,
        "training": json.dumps(training or {}),
        **(vocabulary or Vocabulary()).to_metadata(),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        # safetensors writes 0600; a packaged checkpoint must be world-readable
        os.chmod(tmp, 0o644)
    return path


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"not a readable safetensors checkpoint ({exc})",
            path=path,
            hint="re-train or re-download it",
        ) from None


def _check_vocabulary(
    meta: dict[str, str], config: MotionDiTConfig, expected: Vocabulary, path: Path
) -> None:
    """ModelLoadError naming what differs between the stored vocabulary and ``expected``."""
    try:
        stored = Vocabulary.from_metadata(meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"checkpoint vocabulary is invalid: {exc}", path=path) from None
    differences = stored.differences(expected)
    if differences:
        raise ModelLoadError(
            f"checkpoint vocabulary differs from this code's: {'; '.join(differences)}",
            path=path,
            hint="use a checkpoint trained with this vocabulary, or retrain",
        )
    if (len(stored.emotions), len(stored.param_names)) != (config.num_emotions, config.motion_dim):
        raise ModelLoadError(
            f"checkpoint stores {len(stored.emotions)} emotion labels and "
            f"{len(stored.param_names)} parameter names for a model of {config.num_emotions} "
            f"emotions and {config.motion_dim} parameters",
            path=path,
        )


def load_checkpoint(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    vocabulary: Vocabulary | None = None,
) -> LoadedCheckpoint:
    """Rebuild the model (eval mode, float32, on ``device``) from the file alone.

    ``vocabulary``: the parameter names and emotion labels the caller means; this code's
    by default. A checkpoint trained with others is a ModelLoadError naming the difference.
    """
    path = Path(path) if path is not None else default_checkpoint_path()
    if not path.is_file():
        raise MissingDependency(
            "motion checkpoint not found",
            path=path,
            hint="train one with moda_cli.motion.train.trainer.train_model or pass --checkpoint",
        )
    tensors, meta = _read(path)
    if meta.get("schema") != SCHEMA:
        raise ModelLoadError(
            f"not a moda motion checkpoint (schema {meta.get('schema')!r})", path=path
        )
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise ModelLoadError(
            f"checkpoint schema version {meta.get('schema_version')!r}, "
            f"this code reads {SCHEMA_VERSION}",
            path=path,
            hint="use a checkpoint trained with this version of moda",
        )
    try:
        config = MotionDiTConfig.from_dict(json.loads(meta["config"]))
        norm = Normalization.from_json(json.loads(meta["normalization"]))
        training = json.loads(meta.get("training", "{}"))
        model = MotionDiT(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"checkpoint metadata is invalid: {exc}", path=path) from None
    _check_vocabulary(meta, config, vocabulary or Vocabulary(), path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelLoadError(
            "weights do not match the config: "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}",
            path=path,
        )
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise ModelLoadError(
                f"weight {name} has shape {tuple(tensor.shape)}, "
                f"the config needs {tuple(expected[name].shape)}",
                path=path,
            )
    if norm.motion_mean.shape != (config.motion_dim,) or norm.motion_std.shape != (
        config.motion_dim,
    ):
        raise ModelLoadError(
            f"normalisation has {norm.motion_mean.shape} values, the model {config.motion_dim}",
            path=path,
        )
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.to(device).eval()
    return LoadedCheckpoint(model, config, norm, meta.get("recipe_hash", ""), training, path)
