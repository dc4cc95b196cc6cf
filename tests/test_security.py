"""Break-out attempts against the expression sandbox (in the manner of simpleeval's own
test_security.py). Every one is refused when the policy loads (E2xx) or, for the few that are
only dangerous by size at run time, stopped with a located E210 error. The same compiled form is
what every evaluation path runs, so these are the tested limits of the engine."""

from __future__ import annotations

import pytest

from rulesengine.errors import Collector
from rulesengine.expressions import ExpressionError, compile_expression

PROVIDED = {"category": "a text", "count": "a number", "piece.category": "a text"}

REFUSED_AT_LOAD = [
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "category.__class__",
    "category.__class__.__mro__",
    "piece.__dict__",
    "piece._secret",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    "{x: 1 for x in (1, 2)}",
    "{'a': 1}",
    "{1, 2}",
    "open('/etc/passwd').read()",
    "exec('1')",
    "eval('1')",
    "getattr(category, 'upper')",
    "category.upper()",
    "category[0]",
    "f'{category}'",
    "(y := 1)",
    "__builtins__",
    "globals()",
    "type(category)",
    "count if count else __import__('os')",
    "1 if True else (lambda: 0)",
    "category is None",
    "~count",
    "count << 100000",
    "9 ** 9 ** 9",
    "'a' * 10 ** 9",
    "-" * 200 + "1",
    "(1 + " * 100 + "1" + ")" * 100,
    "1 + " * 2000 + "1",
    "min(count, key=abs)",
    "yield 1",
    "await count",
    "import os",
]


@pytest.mark.parametrize("source", REFUSED_AT_LOAD)
def test_refused_when_the_policy_loads(source: str) -> None:
    problems = Collector("policy.yaml")
    assert compile_expression(source, PROVIDED, problems, 10, 5) is None
    assert problems.errors, source
    assert all(d.code.startswith("E2") for d in problems.errors)
    assert all(d.file == "policy.yaml" and d.line == 10 for d in problems.errors)


@pytest.mark.parametrize(
    ("source", "values"),
    [
        ("count ** count", {"count": 10**6}),
        ("category * count", {"category": "ab", "count": 10**8}),
        ("count / (count - count)", {"count": 3}),
        ("category < count", {"category": "a", "count": 1}),
    ],
)
def test_stopped_at_run_time_with_a_located_error(source: str, values: dict[str, object]) -> None:
    problems = Collector("policy.yaml")
    expr = compile_expression(source, PROVIDED, problems, 7, 3)
    assert expr is not None, [d.format() for d in problems.items]
    with pytest.raises(ExpressionError, match=r"policy.yaml:7:3: E210"):
        expr.evaluate(values)


def test_allowed_expressions_still_work() -> None:
    problems = Collector("policy.yaml")
    expr = compile_expression(
        "max(1, min(count, 3)) * (1.5 if category in ('problem',) and not count == 0 else 1)",
        PROVIDED,
        problems,
    )
    assert expr is not None and str(expr.evaluate({"count": 2, "category": "problem"})) == "3.0"
