"""The base of every settings model: unknown keys and wrong types are errors, on load and
on assignment alike (each stage's ``settings.py``, composed by ``presets.Preset``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
