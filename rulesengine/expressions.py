"""Sandboxed expressions: parsed and checked once at load, evaluated once per distinct input.

Conditions and amounts in a policy are small Python-syntax expressions evaluated by simpleeval.
At load, :func:`compile_expression` parses the text, refuses every construct outside a short
allow-list (attribute access other than ``event.field`` names, calls other than the listed
functions, comprehensions, lambdas, subscripts, f-strings, walrus, ...), and checks every name
against what the rule kind provides, with a "did you mean" for typos. Numbers written with a
decimal point become exact decimals; ``/`` divides exactly.

An expression reads a few fields with few distinct values, so :meth:`Expression.evaluate_values`
caches the result per distinct tuple of inputs: the interpreter runs once per distinct input, not
once per event.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import simpleeval

from rulesengine.errors import Collector, RulesEngineError

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 40


def _exact_div(a: Any, b: Any) -> Decimal:
    return Decimal(a) / Decimal(b)


def _exact_floordiv(a: Any, b: Any) -> Decimal:
    return Decimal(a) // Decimal(b)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
}
"""Functions an expression may call. Documented in docs/policy-language.md."""

MAX_EXPONENT = 64
MAX_POWER_BASE = 10**9


def _bounded_power(a: Any, b: Any) -> Any:
    if abs(b) > MAX_EXPONENT or abs(a) > MAX_POWER_BASE:
        raise simpleeval.NumberTooHigh(
            f"power {a}**{b} is outside the limits (exponent at most {MAX_EXPONENT}, "
            f"base at most {MAX_POWER_BASE})"
        )
    return a**b


_OPERATORS = dict(simpleeval.DEFAULT_OPERATORS)
_OPERATORS[ast.Pow] = _bounded_power
_OPERATORS[ast.Div] = _exact_div
_OPERATORS[ast.FloorDiv] = _exact_floordiv

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.IfExp,
    ast.Tuple,
    ast.List,
    ast.Call,
)


class ExpressionError(RulesEngineError):
    """An expression failed while being evaluated (for example comparing text with a number)."""

    exit_code = 5


@dataclass(slots=True, eq=False)
class Expression:
    """A checked expression. ``names`` are the dotted names it reads, sorted."""

    source: str
    names: tuple[str, ...]
    file: str = ""
    line: int = 0
    column: int = 0
    _tree: ast.AST | None = None
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def evaluate_values(self, values: tuple[Any, ...]) -> Any:
        """Evaluate with ``values`` given in the order of :attr:`names`; cached per tuple."""
        try:
            return self._cache[values]
        except KeyError:
            pass
        result = self._run(values)
        self._cache[values] = result
        return result

    def number(self, values: tuple[Any, ...]) -> Decimal:
        """Evaluate and require a number (not a bool or text); the result as an exact decimal."""
        result = self.evaluate_values(values)
        if isinstance(result, bool) or not isinstance(result, (int, float, Decimal)):
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(self.names, values, strict=True))
            raise ExpressionError(
                f"{self.file}:{self.line}:{self.column}: E211: expression '{self.source}' gave "
                f"{result!r} with {shown or 'no inputs'}; a number is needed here"
            )
        return result if isinstance(result, Decimal) else Decimal(repr(result))

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Evaluate with ``env`` mapping each dotted name to its value."""
        values = tuple(map(env.get, self.names))
        if list in map(type, values):  # lists become tuples, to be cached
            values = tuple(_hashable(v) for v in values)
        return self.evaluate_values(values)

    def _run(self, values: tuple[Any, ...]) -> Any:
        names: dict[str, Any] = {}
        for dotted, value in zip(self.names, values, strict=True):
            parts = dotted.split(".")
            target = names
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            # event numbers arrive as binary floats: make them exact decimals as written
            target[parts[-1]] = Decimal(repr(value)) if type(value) is float else value
        evaluator = simpleeval.EvalWithCompoundTypes(
            operators=_OPERATORS, functions=dict(FUNCTIONS), names=names
        )
        try:
            return evaluator.eval(self.source, previously_parsed=self._tree)
        except Exception as exc:  # any failure inside the sandbox becomes a located error
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(self.names, values, strict=True))
            raise ExpressionError(
                f"{self.file}:{self.line}:{self.column}: E210: expression '{self.source}' failed "
                f"with {shown or 'no inputs'}: {exc}"
            ) from exc
        finally:
            # the evaluator's table of its own bound methods is a reference cycle; emptied, the
            # evaluator is freed at once (evaluation runs with the cyclic collector paused)
            evaluator.nodes.clear()


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _depth(node: ast.AST, level: int = 0) -> int:
    children = list(ast.iter_child_nodes(node))
    if level > MAX_DEPTH:
        return level
    return max((_depth(c, level + 1) for c in children), default=level)


class _Checker:
    def __init__(
        self,
        source: str,
        provided: Mapping[str, str],
        problems: Collector,
        line: int,
        column: int,
        enums: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.enums = enums or {}
        self.source = source
        self.provided = provided
        self.problems = problems
        self.line = line
        self.column = column
        self.names: set[str] = set()
        self.ok = True

    def fail(self, code: str, message: str, node: ast.AST | None, hint: str = "") -> None:
        col = self.column + (getattr(node, "col_offset", 0) if node is not None else 0)
        self.problems.error(code, message, self.line, col, hint)
        self.ok = False

    def visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            what = type(node).__name__
            self.fail(
                "E202",
                f"'{what}' is not allowed in an expression: '{self.source}'",
                node,
                "use names, literals, comparisons, and/or/not, arithmetic, x if c else y, "
                "and the functions " + ", ".join(sorted(FUNCTIONS)),
            )
            return
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (str, int, float, bool, type(None))):
                self.fail("E202", f"literal {node.value!r} is not allowed", node)
            elif isinstance(node.value, float) and not isinstance(node.value, bool):
                text = ast.get_source_segment(self.source, node) or repr(node.value)
                node.value = Decimal(text.replace("_", ""))  # type: ignore[assignment]
            return
        if isinstance(node, (ast.Attribute, ast.Name)):
            self.check_name(node)
            return
        if isinstance(node, ast.Compare):
            self.check_literals(node)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                shown = ast.get_source_segment(self.source, node.func) or "?"
                self.fail(
                    "E202",
                    f"calling '{shown}' is not allowed",
                    node,
                    "the functions are " + ", ".join(sorted(FUNCTIONS)),
                )
                return
            if node.keywords:
                self.fail("E202", "keyword arguments are not allowed", node)
            for arg in node.args:
                self.visit(arg)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def check_literals(self, node: ast.Compare) -> None:
        """Warn about a text compared with an enum field that the field can never hold."""
        sides = [node.left, *node.comparators]
        fields = [d for d in (_dotted(s) for s in sides) if d is not None and d in self.enums]
        for side in sides:
            items = side.elts if isinstance(side, (ast.Tuple, ast.List)) else [side]
            for item in items:
                if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
                    continue
                for f in fields:
                    allowed = self.enums[f]
                    if item.value not in allowed:
                        close = difflib.get_close_matches(item.value, list(allowed), n=1)
                        self.problems.warning(
                            "W201",
                            f"'{item.value}' is never a value of {f} in '{self.source}'",
                            self.line,
                            self.column + item.col_offset,
                            f"did you mean '{close[0]}'?"
                            if close
                            else "values: " + ", ".join(allowed),
                        )

    def check_name(self, node: ast.Attribute | ast.Name) -> None:
        dotted = _dotted(node)
        if dotted is None:
            self.fail(
                "E202",
                "attribute access is only allowed on names such as piece.category: "
                f"'{self.source}'",
                node,
            )
            return
        if any(part.startswith("_") for part in dotted.split(".")):
            self.fail("E202", f"names starting with '_' are forbidden: '{dotted}'", node)
            return
        if dotted in self.provided:
            self.names.add(dotted)
            return
        close = difflib.get_close_matches(dotted, list(self.provided), n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else (
                "available here: " + ", ".join(sorted(self.provided))
                if self.provided
                else "no names are available here"
            )
        )
        self.fail("E201", f"unknown name '{dotted}' in '{self.source}'", node, hint)


def compile_expression(
    source: Any,
    provided: Mapping[str, str],
    problems: Collector,
    line: int = 0,
    column: int = 0,
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> Expression | None:
    """Parse and check ``source``; every problem goes to ``problems`` and ``None`` is returned.

    ``enums`` gives the allowed values of enum names, to warn about impossible comparisons.

    ``provided`` maps each name the expression may read (``level``, ``piece.category``) to a short
    description used in hints.
    """
    if isinstance(source, bool) or isinstance(source, (int, Decimal)):
        source = str(source).lower() if isinstance(source, bool) else str(source)
        source = "True" if source == "true" else "False" if source == "false" else source
    if not isinstance(source, str) or not source.strip():
        problems.error("E200", "an expression must be a non-empty text", line, column)
        return None
    text = source.strip()
    if len(text) > MAX_SOURCE_LENGTH:
        problems.error(
            "E203", f"expression longer than {MAX_SOURCE_LENGTH} characters", line, column
        )
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        problems.error(
            "E200",
            f"expression syntax error in '{text}': {exc.msg}",
            line,
            column + max((exc.offset or 1) - 1, 0),
        )
        return None
    if _depth(tree) > MAX_DEPTH:
        problems.error("E203", f"expression nested deeper than {MAX_DEPTH} levels", line, column)
        return None
    checker = _Checker(text, provided, problems, line, column, enums)
    checker.visit(tree)
    if not checker.ok:
        return None
    expr = Expression(text, tuple(sorted(checker.names)), problems.file, line, column, tree.body)
    if not expr.names:  # a constant: evaluate now so that its errors are load errors
        try:
            expr.evaluate_values(())
        except ExpressionError as exc:
            problems.error(
                "E204", f"expression '{text}' cannot be evaluated: {exc.__cause__}", line, column
            )
            return None
    return expr
