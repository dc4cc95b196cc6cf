"""The event store on SQLite and on a real PostgreSQL server (same tests, both backends)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from rulesengine.evaluate import evaluate
from rulesengine.formats import read_records, roster_records
from rulesengine.loading import read_events
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet
from rulesengine.render import render_json
from rulesengine.store import Store
from rulesengine.store.store import SCHEMA_HEAD, StoreError
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "county-department.jsonl"
BAD = ROOT / "examples" / "bad-events.jsonl"


def ingest(store: Store, path: Path, county: PolicySet):  # type: ignore[no-untyped-def]
    vocab = county.policies[0].vocabulary
    return store.ingest(str(path), read_records(path, vocab), vocab)


@pytest.mark.parametrize("period", ["2023-05", "2023-Q4", "2023", "2024-01"])
def test_evaluation_from_store_equals_file_byte_for_byte(
    store_url: str, county: PolicySet, period: str
) -> None:
    store = Store(store_url)
    report = ingest(store, EXAMPLE, county)
    assert (report.accepted, report.rejected) == (345, 0)
    vocab = county.policies[0].vocabulary
    p = parse_period(period)
    # as the CLI reads it: only the text fields that rules read are kept
    from_store = store.load_events(vocab, p.bounds("Asia/Shanghai")[1], county.names_read())
    from_file = read_events([str(EXAMPLE)], vocab).events
    a = render_json(evaluate(county, from_store, p), explain=True)
    b = render_json(evaluate(county, from_file, p), explain=True)
    assert a == b
    store.close()


def test_reingest_is_a_no_op(store_url: str, county: PolicySet) -> None:
    store = Store(store_url)
    ingest(store, EXAMPLE, county)
    again = ingest(store, EXAMPLE, county)
    assert (again.read, again.accepted, again.duplicates, again.rejected) == (345, 0, 345, 0)
    assert store.count() == 345
    store.close()


def test_bad_lines_are_kept_with_reasons_and_counts_add_up(
    store_url: str, county: PolicySet
) -> None:
    store = Store(store_url)
    report = ingest(store, BAD, county)
    assert report.read == report.accepted + report.duplicates + report.rejected
    assert (report.accepted, report.duplicates, report.rejected) == (7, 1, 23)
    kept = store.rejects()
    assert len(kept) == 23
    assert {r.line for r in kept} == set(range(8, 32)) - {19}
    first = kept[0]
    assert first.line == 8 and first.code == "E301" and first.raw.startswith('{"id": "b01"')
    # re-ingesting the same file keeps each reject once
    ingest(store, BAD, county)
    assert len(store.rejects()) == 23
    store.close()


def test_references_are_checked_against_the_store(
    store_url: str, county: PolicySet, tmp_path: Path
) -> None:
    store = Store(store_url)
    ingest(store, EXAMPLE, county)
    later = tmp_path / "later.jsonl"
    later.write_text(
        "\n".join(
            [
                # an adoption of a piece already in the store: accepted
                '{"id":"x1","type":"adoption","at":"2024-04-02T09:00:00+08:00","ref":"e0078",'
                '"level":"central","form":"single"}',
                # a piece nobody has: rejected
                '{"id":"x2","type":"adoption","at":"2024-04-02T09:00:00+08:00","ref":"zz",'
                '"level":"central","form":"single"}',
                # p03 left in 2023: rejected
                '{"id":"x3","type":"submission","at":"2024-04-02T09:00:00+08:00","author":"p03",'
                '"category":"problem","title":"t"}',
                # an id of the store with other content: rejected
                '{"id":"e0078","type":"submission","at":"2024-04-02T09:00:00+08:00",'
                '"author":"p01","category":"problem","title":"t"}',
            ]
        ),
        "utf-8",
    )
    report = ingest(store, later, county)
    assert report.accepted == 1
    assert sorted((r.line, r.code) for r in report.rejects) == [
        (2, "E312"),
        (3, "E315"),
        (4, "E311"),
    ]
    store.close()


def test_store_from_a_newer_version_is_refused(store_url: str) -> None:
    Store(store_url).close()
    engine = sa.create_engine(store_url if "://" in store_url else f"sqlite:///{store_url}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer version of rulesengine"):
        Store(store_url)


def test_new_store_is_migrated_to_head(store_url: str) -> None:
    store = Store(store_url)
    assert store.schema_revision() == "0002" and store.count() == 0
    store.close()


def test_killed_ingest_leaves_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    from bench.generate import main as generate

    big = tmp_path / "big.jsonl"
    with big.open("w") as fh:
        old, sys.stdout = sys.stdout, fh
        try:
            generate(["--people", "300", "--months", "6"])
        finally:
            sys.stdout = old
    total = sum(1 for _ in big.open())
    env = {**os.environ, "RULESENGINE_POLICIES": str(ROOT / "policies")}
    cmd = [
        sys.executable,
        "-m",
        "rulesengine_cli.main",
        "ingest",
        "--family",
        "county-department",
        "--quiet",
        "--db",
        store_url,
        str(big),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(store_url)
    assert store.count() in (0, total)
    store.close()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    store = Store(store_url)
    assert store.count() == total
    store.close()


def test_csv_and_xlsx_with_chinese_headers(
    store_url: str, county: PolicySet, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    store = Store(store_url)
    ingest(store, EXAMPLE, county)
    rows = [
        "编号,类型,时间,作者,类别,标题,信息编号,采用级别,采用形式,领导批示".split(","),
        "c1,报送信息,2024-04-01T09:00:00+08:00,p01,问题建议类,新信息,,,,".split(","),
        "c2,信息采用,2024-04-05T09:00:00+08:00,,,,c1,省委组织部,单篇采用,是".split(","),
        "c3,报送信息,2024-04-01T09:00:00+08:00,p01,问题类,坏行,,,,".split(","),
    ]
    csv_path = tmp_path / "events.csv"
    csv_path.write_text("\n".join(",".join(r) for r in rows) + "\n", "utf-8")
    report = ingest(store, csv_path, county)
    assert (report.accepted, report.rejected) == (2, 1)
    assert report.rejects[0].line == 4 and report.rejects[0].field == "category"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in [rows[0], ["x1", *rows[1][1:]]]:
        sheet.append(r)
    book.save(tmp_path / "events.xlsx")
    report = ingest(store, tmp_path / "events.xlsx", county)
    assert (report.accepted, report.rejected) == (1, 0)
    events = {e.id: e for e in store.load_events(county.policies[0].vocabulary)}
    assert events["c2"].data == {
        "ref": "c1",
        "level": "provincial",
        "form": "single",
        "endorsed": True,
    }
    assert events["x1"].data["category"] == "problem"
    store.close()


def test_roster_import(store_url: str, county: PolicySet, tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "at: 2023-01-01T00:00:00+08:00\n"
        "units:\n"
        "  - {id: dept, name: 县委组织部, kind: department}\n"
        "  - {id: s1, name: 组织股, kind: section, parent: dept}\n"
        "people:\n"
        "  - {id: p1, name: 李明, unit: s1, role: section_head}\n"
        "  - {id: p2, name: 王芳, unit: s9, role: staff}\n",
        "utf-8",
    )
    vocab = county.policies[0].vocabulary
    store = Store(store_url)
    report = store.ingest(str(roster), roster_records(roster, vocab), vocab)
    assert (report.accepted, report.rejected) == (3, 1)
    assert report.rejects[0].code == "E316"
    again = store.ingest(str(roster), roster_records(roster, vocab), vocab)
    assert again.duplicates == 3
    store.close()


def test_schema_head_is_the_newest_migration() -> None:
    """A store at ``SCHEMA_HEAD`` opens without alembic: it must be the migrations' head."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "rulesengine" / "store" / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_bodies_are_read_back_exactly(store_url: str, county: PolicySet, tmp_path: Path) -> None:
    """The read fetches each stored body as its UTF-8 bytes from SQLite (a cast to BLOB) and as
    text from PostgreSQL: escapes, quotes, backslashes, Chinese and characters beyond the Basic
    Multilingual Plane come back as written either way (on PostgreSQL a cast to bytea would
    read backslashes as escapes)."""
    title = '引号"与反斜杠\\、\\n字面、换行\n制表\t及𠀋字 \\x41 \\\\'
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()[:17]
    lines.append(
        '{"id": "t1", "type": "submission", "at": "2023-01-03T10:00:00+08:00", '
        f'"author": "p01", "category": "problem", "title": {json.dumps(title)}}}'
    )
    path = tmp_path / "tricky.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store(store_url)
    assert ingest(store, path, county).rejected == 0
    got = {e.id: e for e in store.load_events(county.policies[0].vocabulary)}
    assert got["t1"].data["title"] == title
    assert {i: e.data for i, e in got.items()} == {
        e.id: e.data for e in read_events([str(path)], county.policies[0].vocabulary).events
    }
    store.close()
