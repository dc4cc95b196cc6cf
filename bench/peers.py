"""Peers benchmark: adoption points (reference policy rule 1) computed four ways on one stream.

    python -m bench.peers --people 10000     # about 1,000,000 events, 12 months of 2023

The stream is generated (not timed) and parsed once into dicts with orjson (lines/s, peak RSS
growth). Per person per month totals of rule 1 come from zen-engine (a JDM decision table per
adoption), simpleeval (pre-parsed expressions), a hand-written loop, and our engine (``evaluate``;
``points.score_month``). Only scoring is timed (our decode is reported apart); totals must agree.
Every timed run has the cyclic garbage collector paused, as the engine runs (rulesengine.gcpause).
zen-engine is optional: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from simpleeval import SimpleEval

from bench.generate import generate
from bench.ingest import machine
from rulesengine.context import Context
from rulesengine.evaluate import evaluate
from rulesengine.gcpause import collector_paused
from rulesengine.intake import parse_records
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet, load_policy_set
from rulesengine.rules.points import PointsRule
from rulesengine.rules.scoring import score_month

try:
    import zen
except ImportError:  # pragma: no cover - depends on the environment
    zen = None

ROOT = Path(__file__).resolve().parent.parent
RULE = "adoption_points"
TZ = ZoneInfo("Asia/Shanghai")
ZERO = Decimal(0)
ONE_AND_HALF = Decimal("1.5")
BONUS = Decimal(5)
TABLE: dict[tuple[str, str], Decimal] = {
    ("central", "single"): Decimal(10),
    ("central", "combined"): Decimal(5),
    ("central", "topic"): Decimal(40),
    ("provincial", "single"): Decimal(5),
    ("provincial", "combined"): Decimal(2),
    ("municipal", "single"): Decimal(2),
    ("municipal", "combined"): Decimal(1),
}
MULTIPLIER = "1.5 if category == 'problem' and form != 'topic' else 1"
BONUS_EXPR = "5 if endorsed else 0"

# A live adoption: (id, at, month id, piece id, author, piece category, level, form, endorsed).
Adoption = tuple[str, datetime, str, str, str, "str | None", str, str, bool]
Totals = dict[tuple[str, str], Decimal]  # (person, month id) -> points
T = TypeVar("T")


def rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) in MiB from /proc/self/status, else the ru_maxrss peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Reset the peak RSS to the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def prepare(docs: Iterable[dict[str, Any]]) -> list[Adoption]:
    """Live adoptions of live pieces, by time then id (retractions of retractions honoured)."""
    retractions: list[tuple[datetime, str, str]] = []
    pieces: dict[str, dict[str, Any]] = {}
    adoptions: list[dict[str, Any]] = []
    for d in docs:
        t = d["type"]
        if t == "adoption":
            adoptions.append(d)
        elif t in ("submission", "topic_plan"):
            pieces[d["id"]] = d
        elif t == "retraction":
            retractions.append((datetime.fromisoformat(d["at"]), d["id"], d["ref"]))
    void: set[str] = set()
    for _, rid, ref in sorted(retractions, reverse=True):
        if rid not in void:
            void.add(ref)
    out: list[Adoption] = []
    for a in adoptions:
        piece = pieces.get(a["ref"])
        if a["id"] in void or piece is None or piece["id"] in void:
            continue
        at = datetime.fromisoformat(a["at"])
        local = at.astimezone(TZ)
        month, cat, lvl, e = f"{local:%Y-%m}", piece.get("category"), a["level"], a.get("endorsed")
        out.append((a["id"], at, month, piece["id"], piece["author"], cat, lvl, a["form"], bool(e)))
    out.sort(key=lambda x: (x[1], x[0]))
    return out


def credit(adoptions: list[Adoption], points_of: Callable[[Adoption], Decimal]) -> Totals:
    """Credit each adoption max(0, points - best earlier points of its piece at its level)."""
    best: dict[tuple[str, str], Decimal] = {}
    totals: Totals = {}
    for a in adoptions:
        pts = points_of(a)
        key = (a[3], a[6])
        prev = best.get(key)
        credited = pts if prev is None else max(ZERO, pts - prev)
        if prev is None or pts > prev:
            best[key] = pts
        if a[2].startswith("2023-"):
            k = (a[4], a[2])
            totals[k] = totals.get(k, ZERO) + credited
    return totals


def hand_points(a: Adoption) -> Decimal:
    """Plain Python: dict lookup, multiplier and bonus."""
    base = TABLE.get((a[6], a[7]))
    if base is None:
        return ZERO
    if a[5] == "problem" and a[7] != "topic":
        base = base * ONE_AND_HALF
    return base + BONUS if a[8] else base


def simpleeval_points() -> Callable[[Adoption], Decimal]:
    """Dict lookup for the table, pre-parsed simpleeval expressions for multiplier and bonus."""
    s = SimpleEval()
    mult_tree, bonus_tree = s.parse(MULTIPLIER), s.parse(BONUS_EXPR)

    def points(a: Adoption) -> Decimal:
        base = TABLE.get((a[6], a[7]))
        if base is None:
            return ZERO
        s.names = {"category": a[5], "form": a[7], "endorsed": a[8]}
        mult = s.eval(MULTIPLIER, previously_parsed=mult_tree)
        bonus = s.eval(BONUS_EXPR, previously_parsed=bonus_tree)
        return base * Decimal(str(mult)) + Decimal(str(bonus))

    return points


def jdm_graph() -> str:
    """A JDM graph: request -> decision table (level, form, problem, endorsed -> points)."""
    cols = ("level", "form", "problem", "endorsed")
    rules: list[dict[str, str]] = []
    for (level, form), base in TABLE.items():
        for problem in ("",) if form == "topic" else ("true", "false"):
            for endorsed in ("true", "false"):
                pts = base * (ONE_AND_HALF if problem == "true" else 1)
                pts += BONUS if endorsed == "true" else ZERO
                cells = (f'"{level}"', f'"{form}"', problem, endorsed)
                row = {"_id": f"r{len(rules)}", "points": str(pts)}
                rules.append(row | {f"in_{c}": v for c, v in zip(cols, cells, strict=True)})
    table = {
        "hitPolicy": "first",
        "inputs": [{"id": f"in_{c}", "name": c, "type": "expression", "field": c} for c in cols],
        "outputs": [{"id": "points", "name": "points", "type": "expression", "field": "points"}],
        "rules": rules,
    }
    pos = {"x": 0, "y": 0}
    kinds = (("request", "inputNode"), ("table", "decisionTableNode"), ("response", "outputNode"))
    nodes = [{"id": i, "type": t, "name": i, "position": pos} for i, t in kinds]
    nodes[1]["content"] = table
    edges = [
        {"id": f"e{n}", "type": "edge", "sourceId": a, "targetId": b}
        for n, (a, b) in enumerate((("request", "table"), ("table", "response")))
    ]
    doc = {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}
    return json.dumps(doc)


def zen_points() -> Callable[[Adoption], Decimal]:
    """One zen-engine decision, evaluated per adoption."""
    decision = zen.ZenEngine().create_decision(jdm_graph())

    def points(a: Adoption) -> Decimal:
        ctx = {"level": a[6], "form": a[7], "problem": a[5] == "problem", "endorsed": a[8]}
        value = decision.evaluate(ctx)["result"].get("points")
        return ZERO if value is None else Decimal(str(value))

    return points


def engine_points_only(policies: PolicySet, events: list[Any]) -> tuple[Totals, float, float]:
    """Per person-month points via Context.build + score_month; (totals, build s, score s)."""
    year = parse_period("2023")
    main = policies.in_force(year)
    assert main is not None
    gc.collect()
    gc.disable()  # as best_of runs the peers (and evaluate_many the engine)
    t0 = time.perf_counter()
    ctx = Context.build(main.vocabulary, events, policies.in_force, main.family, main.timezone)
    t1 = time.perf_counter()
    totals: Totals = {}
    for month in year.months():
        pol = policies.in_force(month)
        assert pol is not None
        start, end = month.bounds(pol.timezone)
        for rule in pol.rules:
            if isinstance(rule, PointsRule) and rule.name == RULE:
                for _ev, _piece, parts, _c in score_month(ctx, rule, month, start, end):
                    for person, part in parts:
                        k = (person, month.id)
                        totals[k] = totals.get(k, ZERO) + part
    t2 = time.perf_counter()
    ctx.release()
    gc.enable()
    return totals, t1 - t0, t2 - t1


def person_scores(result: Any) -> dict[str, Decimal]:
    """Person points of the adoption rule in an evaluation result."""
    return {
        s.subject: s.points for s in result.scores if s.subject_kind == "person" and s.rule == RULE
    }


def annual(totals: Totals) -> dict[str, Decimal]:
    """Per person sums over months, zeros dropped."""
    out: dict[str, Decimal] = {}
    for (person, _m), v in totals.items():
        out[person] = out.get(person, ZERO) + v
    return {p: v for p, v in out.items() if v != 0}


def differences(name: str, got: dict[Any, Decimal], ref: dict[Any, Decimal]) -> list[str]:
    """Lines describing where ``got`` differs from ``ref`` (zeros count as absent)."""
    g = {k: v for k, v in got.items() if v != 0}
    r = {k: v for k, v in ref.items() if v != 0}
    bad = sorted(k for k in g.keys() | r.keys() if g.get(k, ZERO) != r.get(k, ZERO))
    return [
        f"  MISMATCH {name} {k}: {g.get(k, ZERO)} vs hand-written {r.get(k, ZERO)}"
        for k in bad[:10]
    ] + ([f"  ... {len(bad) - 10} more"] if len(bad) > 10 else [])


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` ``repeat`` times, each after a full collection: its result and best time."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        with collector_paused():  # every implementation as the engine runs (see gcpause)
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
    return out, best


def rate(label: str, n: int, secs: float, extra: str = "") -> None:
    """Print one measurement line."""
    line = f"{label}: {n:,} adoption events in {secs:.3f} s = {n / secs:,.0f} events/s{extra}"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one line per measurement."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each scoring; best kept")
    args = ap.parse_args(argv)
    args.repeat = max(1, args.repeat)
    print(f"machine: {machine()}; scoring times: best of {args.repeat}, gc.collect() before each")
    text = b"".join(orjson.dumps(ev) + b"\n" for ev in generate(args.people, 12, args.seed))

    reset_peak()
    before = rss_mib("VmRSS")
    t0 = time.perf_counter()
    docs = [orjson.loads(line) for line in text.splitlines()]
    secs = time.perf_counter() - t0
    peak = rss_mib("VmHWM")
    del text
    n_adopt = sum(1 for d in docs if d["type"] == "adoption")
    print(
        f"parse (orjson.loads per line): {len(docs):,} lines in {secs:.2f} s = "
        f"{len(docs) / secs:,.0f} lines/s, peak RSS growth {peak - before:,.0f} MiB"
        f"; {n_adopt:,} adoption events",
        flush=True,
    )

    results: dict[str, Totals] = {}
    times: dict[str, float] = {}
    peers: list[tuple[str, Callable[[], Callable[[Adoption], Decimal]]]] = []
    if zen is None:
        print("zen-engine: SKIPPED (not installed: pip install -e '.[bench]' or zen-engine)")
    else:
        peers.append(("zen-engine decision table", zen_points))
    peers += [("simpleeval loop", simpleeval_points), ("hand-written loop", lambda: hand_points)]
    for name, make in peers:
        points_of = make()  # building the decision / parsing expressions: not timed
        # The peer's whole scoring: retractions, order, points per adoption, best-only credit.
        run = lambda f=points_of: credit(prepare(docs), f)  # noqa: E731
        results[name], times[name] = best_of(args.repeat, run)
        rate(name, n_adopt, times[name])

    policies = load_policy_set(ROOT / "policies" / "county-department")
    vocab = policies.policies[0].vocabulary
    t0 = time.perf_counter()
    batch = parse_records((("stream", i, d, None) for i, d in enumerate(docs, 1)), vocab)
    secs = time.perf_counter() - t0
    events = batch.events
    print(
        f"our engine decode (parse_records, not in scoring): {batch.read:,} dicts in "
        f"{secs:.2f} s = {batch.read / secs:,.0f} events/s, {batch.accepted:,} accepted, "
        f"{len(batch.rejects)} rejected",
        flush=True,
    )

    year_result, t_year = best_of(
        args.repeat, lambda: evaluate(policies, events, parse_period("2023"))
    )
    rate("our engine evaluate 2023 (all rules)", n_adopt, t_year)
    monthly: Totals = {}
    gc.collect()
    t0 = time.perf_counter()
    for m in range(1, 13):
        mid = f"2023-{m:02d}"
        for person, v in person_scores(evaluate(policies, events, parse_period(mid))).items():
            monthly[(person, mid)] = v
    rate("our engine evaluate 2023-01..12 (12 runs, once)", n_adopt, time.perf_counter() - t0)
    runs = [engine_points_only(policies, events) for _ in range(args.repeat)]
    points_only, t_build, t_score = min(runs, key=lambda r: r[1] + r[2])
    t_points = t_build + t_score
    extra = f" (Context.build {t_build:.3f} s + score_month x12 {t_score:.3f} s)"
    rate("our engine points only", n_adopt, t_points, extra)

    ref = results["hand-written loop"]
    ref_year = annual(ref)
    problems: list[str] = []
    for name, totals in results.items():
        problems += differences(name, totals, ref)
        problems += differences(name + " (annual)", annual(totals), ref_year)
    problems += differences("engine evaluate 2023", person_scores(year_result), ref_year)
    problems += differences("engine monthly evaluate", monthly, ref)
    problems += differences("engine score_month", points_only, ref)
    total = sum(ref_year.values(), ZERO)
    if problems:
        print("\n".join([f"totals DISAGREE ({len(problems)} lines):", *problems]))
    else:
        print(f"totals agree: {len(ref_year):,} persons, {len(ref):,} person-months, {total} pts")
    for name, secs in times.items():
        alone, year = secs / t_score, secs / t_year
        print(
            f"ratio {name} / our points-only: {secs / t_points:.2f}x (/ score_month alone: "
            f"{alone:.2f}x; / evaluate 2023: {year:.2f}x)"
        )


if __name__ == "__main__":
    main()
