"""Check a YAML document against a shipped JSON Schema, reporting each error at its file:line.

python-jsonschema gives each error the path of the offending value; :class:`SourceMap` turns the
path into a line and column. Messages are rewritten for admins (unknown key with "did you mean",
missing key, wrong type, value not allowed).
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from rulesengine.errors import Collector
from rulesengine.yamlsrc import SourceMap

_TYPE_WORDS = {
    "string": "a text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "null": "empty",
}


@lru_cache(maxsize=4)
def schema(name: str) -> dict[str, Any]:
    """The shipped schema ``name`` (``policy`` or ``vocabulary``) as a dict."""
    text = resources.files("rulesengine").joinpath(f"schema/{name}.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=4)
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def _leaves(error: ValidationError) -> list[ValidationError]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Report the alternative that got furthest: the deepest error of the best branch.
        best = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.context)))
        return _leaves(best)
    return [error]


def _words(types: Any) -> str:
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    return _TYPE_WORDS.get(str(types), str(types))


def check_against_schema(data: Any, name: str, smap: SourceMap, problems: Collector) -> bool:
    """Validate ``data`` against schema ``name``; returns whether it is valid."""
    errors: list[ValidationError] = []
    for error in _validator(name).iter_errors(data):
        errors.extend(_leaves(error))
    seen: set[tuple[Any, ...]] = set()
    for error in errors:
        path = tuple(error.absolute_path)
        v = error.validator
        if v == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            extras = sorted(set(error.instance) - set(allowed))
            for key in extras:
                line, col = smap.where((*path, key), key=True)
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else ("allowed keys here: " + ", ".join(allowed) if allowed else "")
                )
                if (path, key) not in seen:
                    seen.add((path, key))
                    problems.error("E110", f"unknown key '{key}'", line, col, hint)
            continue
        line, col = smap.where(path)
        if v == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else error.message
            code, msg, hint = (
                "E111",
                f"missing key '{missing}'",
                "add it; see docs/policy-language.md",
            )
        elif v == "type":
            code, msg, hint = (
                "E112",
                f"'{_show(error.instance)}' should be {_words(error.validator_value)}",
                "",
            )
        elif v == "enum":
            options = [str(o) for o in error.validator_value]
            close = difflib.get_close_matches(str(error.instance), options, n=1)
            code, msg = "E113", f"'{_show(error.instance)}' is not one of: {', '.join(options)}"
            hint = f"did you mean '{close[0]}'?" if close else ""
        elif v == "const":
            code, msg, hint = (
                "E113",
                f"'{_show(error.instance)}' should be '{error.validator_value}'",
                "",
            )
        else:
            code, msg, hint = "E114", f"{_show(error.instance)}: {error.message}", ""
        where = ".".join(str(p) for p in path)
        key = (code, path, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.error(code, f"{msg}" + (f" (at {where})" if where else ""), line, col, hint)
    return not errors


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
