"""Read YAML keeping the line and column of every value, for located error messages.

Plain YAML loaders forget where a value came from and silently keep the last of two duplicate
keys. Here the file is composed into nodes (``yaml.compose`` keeps their marks), duplicate keys are
errors, floats become exact :class:`~decimal.Decimal` values, dates stay as their text, and a map
from each value's path (a tuple of keys and list indexes) to its position is returned beside the
data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from rulesengine.errors import Collector

Path = tuple[str | int, ...]


@dataclass(slots=True)
class SourceMap:
    """Positions (1-based line and column) of the values and keys of one YAML document."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    quoted: set[Path] = field(default_factory=set)

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_TAG = "tag:yaml.org,2002:"
_DECIMAL = re.compile(r"[-+]?[0-9]+")


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    text = node.value
    if tag == _TAG + "int":
        # YAML 1.2 core: plain decimal integers only (010 is ten, 1:30 stays text).
        digits = text.replace("_", "")
        return int(digits, 10) if _DECIMAL.fullmatch(digits) else text
    if tag == _TAG + "float":
        lowered = text.lower()
        if lowered in (".inf", "+.inf", "-.inf", ".nan"):
            return float(yaml.safe_load(text))
        return Decimal(text.replace("_", ""))
    if tag == _TAG + "bool":
        # YAML 1.2 semantics: only true/false are booleans; yes/no/on/off stay text.
        return text.lower() == "true" if text.lower() in ("true", "false") else text
    if tag == _TAG + "null":
        return None
    return text  # str, timestamp (kept as its text), anything else


def _build(node: yaml.Node, path: Path, smap: SourceMap, problems: Collector) -> Any:
    smap.values[path] = _mark(node)
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("'", '"'):
            smap.quoted.add(path)
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), smap, problems) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                problems.error("E101", "a mapping key must be a plain value", line, col)
                continue
            key = key_node.value  # keys are always text: `on:` stays "on", not true
            if key_node.tag == _TAG + "merge":
                line, col = _mark(key_node)
                problems.error(
                    "E101",
                    "YAML merge keys (<<) are not supported",
                    line,
                    col,
                    "write the keys out in full",
                )
                continue
            if key in out:
                line, col = _mark(key_node)
                first = smap.keys[(*path, key)]
                problems.error(
                    "E102",
                    f"duplicate key '{key}' (first at line {first[0]})",
                    line,
                    col,
                    "remove one of them: plain YAML readers silently keep the last",
                )
                continue
            smap.keys[(*path, key)] = _mark(key_node)
            out[key] = _build(value_node, (*path, key), smap, problems)
        return out
    raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover


def load_yaml(text: str, file: str, problems: Collector) -> tuple[Any, SourceMap]:
    """Parse one YAML document; syntax errors and duplicate keys go to ``problems``.

    Returns ``(None, map)`` when the text cannot be parsed at all.
    """
    smap = SourceMap(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = exc.problem or "YAML syntax error"
        problems.error(
            "E100",
            f"YAML syntax error: {what}",
            line,
            col,
            "check indentation, colons and quotes on this line and the one above",
        )
        return None, smap
    except yaml.YAMLError as exc:  # pragma: no cover - other reader errors (bad bytes)
        problems.error("E100", f"YAML error: {exc}", 1, 1)
        return None, smap
    if node is None:
        problems.error("E103", "the file is empty", 1, 1)
        return None, smap
    return _build(node, (), smap, problems), smap
