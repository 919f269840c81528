"""The one YAML loader for everything moda reads (presets, manifests, ``--set`` values).

``yaml.safe_load`` refuses arbitrary objects but not an alias bomb: nine nested anchors of
nine aliases each are 9**9 values once expanded, a few hundred bytes of text that any
later pass over the data (validation, a message, a report) walks for minutes and prints
for gigabytes. This loader counts the values the document holds with every alias
expanded, before any Python object is built, and refuses more than a small bound over
the document's own size. Recursive aliases are refused too.
"""

from __future__ import annotations

from typing import Any

import yaml

# Expanded values allowed: this many, plus a few per value written out. A manifest of
# 10,000 rows that all point at one shared `set:` mapping stays well inside.
MIN_EXPANDED = 10_000
EXPANSION_PER_NODE = 10


class AliasBombError(yaml.YAMLError):
    """The document's aliases expand beyond the bound, or refer to themselves."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def expanded_size(root: yaml.Node, limit: int) -> tuple[int, int]:
    """(values with every alias expanded, distinct nodes), stopping once past ``limit``.

    The composed document is a graph: an alias is the anchored node itself, so each node
    is sized once (memo) and shared nodes count once per use. Iterative, so a deep
    document cannot exhaust the stack. Raises AliasBombError on a cycle.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise AliasBombError("an alias refers to the value that contains it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)], len(sizes)


class _BoundedLoader(yaml.SafeLoader):
    def compose_document(self) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_document()
        if node is not None:
            total, distinct = expanded_size(node, MIN_EXPANDED + EXPANSION_PER_NODE * 10**6)
            bound = MIN_EXPANDED + EXPANSION_PER_NODE * distinct
            if total > bound:
                raise AliasBombError(
                    f"aliases expand the document to more than {bound} values; "
                    "write the repeated values out, or use fewer nested aliases"
                )
        return node


def load_yaml(text: str) -> Any:
    """Like ``yaml.safe_load``, refusing alias bombs and runaway nesting with a yaml.YAMLError."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506  # a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("the document is nested too deeply") from None
