"""One small registry per extension point (solvers, executors, output formats, detectors,
generators): a name per implementation, registered once where the implementation lives.

The preset schema and the Typer options read the names from the registry when they are
used, not when they are imported, so a solver or an executor registered later (a plugin,
a test's toy) is a valid ``--set motion.solver=...``, appears in ``--help`` and in the
JSON schema of the presets, with no second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

T = TypeVar("T")


class Registry(Generic[T]):
    """Named implementations of one extension point, in registration order."""

    def __init__(self, kind: str):
        self.kind = kind  # "solver", "executor", ...: used in messages
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests that register a toy clean up with this)."""
        del self._items[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.kind} {name!r}; one of: {', '.join(self._items)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def decorator(self, name: str) -> Callable[[T], T]:
        """``@REGISTRY.decorator("name")`` above a function or class registers it."""
        return lambda item: self.register(name, item)

    # -- the two places that show the choices to a user ------------------------------------

    def literal(self) -> Any:
        """``Literal[...]`` of the names registered now: Typer shows and checks it. A module
        that builds its signatures from this must be (re)built after late registrations."""
        return Literal[self.names()]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        # Used as ``Annotated[str, SOLVERS]`` in a pydantic model: a string checked against
        # the names registered when the value is validated.
        def check(value: str) -> str:
            if value not in self._items:
                raise PydanticCustomError(
                    "unknown_choice",
                    "unknown {kind} '{value}'; one of: {names}",
                    {"kind": self.kind, "value": value, "names": ", ".join(self._items)},
                )
            return value

        return core_schema.no_info_after_validator_function(check, core_schema.str_schema())

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"type": "string", "enum": list(self._items)}
