"""Property-based fuzzing of the landing readers through the real ingest into real Delta tables.

Seeds are valid files generated from the channel contracts (``lakehouse.channels.spec``): every
JSON-lines, CSV and JSON-document entity, required fields always, optional ones sometimes. They
are then broken (values of another JSON type, byte flips, truncation, deletions, repeated lines
and insertions of the corpus's nasty fragments: BOM, NUL, CR, invalid UTF-8, lone surrogates,
NaN, 1e400, int64 overflow, deep nesting, quotes, ...). The oracle asks only what must hold
for any input (DESIGN.md rules 3 and 4): the ingest returns within a time limit without
raising, per file rows read = rows in bronze + rows quarantined (counted and in the tables),
every non-blank line of a line file is exactly one row, and every quarantined row keeps its raw
text with a reason naming its file, line (or record) and field.

A few dozen examples per format here (``make test``); ``bench/fuzz_landing.py`` runs many more.
"""

from __future__ import annotations

import csv
import faulthandler
import io
import json
import re
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.channels import CHANNELS, NESTED, Entity, Field
from lakehouse.home import Home
from lakehouse.ingest import IngestResult, batch_id_for, discover, ingest_files
from lakehouse.ingest.quarantine import ERROR_KINDS
from tests.integration.conftest import ingest_outcome

NOW = datetime(2026, 3, 2, tzinfo=UTC)
TIME_LIMIT = 30  # seconds one example may take (a hang fails the test instead of stalling it)
BLANK = b" \t\r"  # a line of only these is no record (lakehouse.ingest.parse.records.BLANK)
LANDED = [e for ch in CHANNELS for e in ch.entities if (ch.name, e.name) not in NESTED]
JSONL = [e for e in LANDED if e.format == "jsonl"]
CSV = [e for e in LANDED if e.format == "csv"]
DOCUMENTS = {("catalog", "products"): ["products"], ("locations", "locations"): ["locations",
                                                                                 "rates"]}
RATES = next(e for ch in CHANNELS for e in ch.entities if e.name == "shipping_rates")

# the corpus's nasty fragments (tests/corpus/malformed), as bytes to splice in anywhere
NASTY: list[bytes] = [
    b"\xef\xbb\xbf", b"\x00", b"\r", b"\r\n", b"\n", b"\n\n", b"   \n", b"\xff", b"\xc0\xaf",
    b"\xe2\x82", b'"', b'""', b",", b",,", b"\\", b"\\ud800", b'"\\udc00"', b"\\ud83d\\ude00",
    b"NaN", b"-Infinity", b"1e400", b"9223372036854775808", b"-9223372036854775809", b"null",
    b"true", b"[", b"]", b"{", b"}", b"{}", b"[]", b":", b'": ', b'"quantity": 1, ',
    b'"quantity": "7", ', b'"event_id": null, ', b"[" * 2000, b"{\"a\":" * 300, b"\x0c",
    "\u00a0".encode(), "\u2028".encode(), b"\t", b"x" * 70_000, b"0" * 400, b"-0", b"1.5",
    b'"\n"', b'"a\r\nb"',
]


# ---------------------------------------------------------------- seeds from the contracts
def _text(alphabet: str = "") -> st.SearchStrategy[str]:
    chars = st.characters(codec="utf-8", exclude_categories=("Cs",)) if not alphabet else (
        st.sampled_from(alphabet))
    return st.text(chars, min_size=1, max_size=12)


_INSTANTS = st.datetimes(datetime(2025, 1, 1), datetime(2026, 3, 1))


def _value(f: Field) -> st.SearchStrategy[object]:
    """A value the contract accepts for ``f`` (as the JSON file holds it)."""
    t = f.type
    if f.allowed:
        return st.sampled_from(f.allowed)
    if t == "str":  # a blank value of a required field is missing: not a valid seed
        return st.one_of(_text("abcXYZ019-_. "), _text()).filter(
            lambda s: not re.fullmatch(r"\s*", s) and s.strip())
    if t in ("int", "epoch_ms", "epoch_s"):
        if t == "int":
            low = int(f.minimum) if f.minimum is not None else -(10**6)
            return st.integers(low, int(f.maximum) if f.maximum is not None else 10**6)
        scale = 1000 if t == "epoch_ms" else 1
        return st.integers(1_600_000_000 * scale, 1_772_000_000 * scale)
    if t == "float":
        return st.floats(f.minimum if f.minimum is not None else -1e6,
                         f.maximum if f.maximum is not None else 1e6, allow_nan=False)
    if t == "bool":
        return st.booleans()
    if t == "ts_iso":
        return _INSTANTS.map(lambda d: d.isoformat(timespec="milliseconds") + "+01:00")
    if t == "ts_local":
        return _INSTANTS.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
    if t == "date":
        return st.dates(date(2020, 1, 1), date(2026, 3, 1)).map(date.isoformat)
    if f.name == "line_items":
        item = st.fixed_dictionaries({"id": _text("abc123"), "variant_id": _text("v0123"),
                                      "quantity": st.integers(1, 5), "price": st.just("9.99")})
        return st.lists(item, min_size=1, max_size=3)
    if t == "array":
        return st.lists(_text("ABC10"), max_size=3)
    return st.fixed_dictionaries({"id": _text("c0123")}, optional={"email": _text("a@b.c")})


_OTHER = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=5),
                   st.floats(), st.lists(st.integers(), max_size=2),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def record(ent: Entity) -> st.SearchStrategy[dict]:
    """A record of ``ent``: required fields always, optional ones sometimes."""
    required = {f.name: _value(f) for f in ent.all_fields if f.required}
    optional = {f.name: _value(f) for f in ent.all_fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def swapped(draw: st.DrawFn, ent: Entity, n: int) -> list[dict]:
    """``n`` records, some with a value of another type (or an unknown key, or a field gone)."""
    rows = draw(st.lists(record(ent), min_size=n, max_size=n))
    for row in rows:
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from([*row, "unknown_key"]))
            if draw(st.booleans()):
                row[key] = draw(_OTHER)
            else:
                row.pop(key, None)
    return rows


def jsonl_bytes(rows: list[dict], ascii_only: bool, spaced: bool) -> bytes:
    seps = (", ", ": ") if spaced else (",", ":")
    return "".join(json.dumps(r, ensure_ascii=ascii_only, separators=seps) + "\n"
                   for r in rows).encode()


def csv_bytes(ent: Entity, rows: list[dict], columns: list[str], crlf: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else _csv_text(r[c]) for c in columns])
    return out.getvalue().encode()


def _csv_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------- mutations
@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` after a few byte-level mutations (none at all sometimes: the seed must pass)."""
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "insert", "delete", "repeat"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            pos = min(pos, len(data) - 1)
            data = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1:]
        elif op == "truncate":
            data = data[:pos]
        elif op == "insert":
            data = data[:pos] + draw(st.sampled_from(NASTY)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 40)):]
        elif op == "repeat":
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            data = b"\n".join(lines[:i + 1] + lines[i:])
    return data


@st.composite
def jsonl_file(draw: st.DrawFn) -> tuple[Entity, bytes]:
    ent = draw(st.sampled_from(JSONL))
    rows = draw(swapped(ent, draw(st.integers(0, 6))))
    return ent, draw(mutated(jsonl_bytes(rows, draw(st.booleans()), draw(st.booleans()))))


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[Entity, bytes]:
    ent = draw(st.sampled_from(CSV))
    rows = draw(st.lists(record(ent), min_size=0, max_size=6))
    columns = [f.name for f in ent.all_fields]
    columns = draw(st.permutations(columns)) if draw(st.booleans()) else columns
    if draw(st.integers(0, 3)) == 0:  # header drift: a column gone or one more
        columns = columns[1:] if draw(st.booleans()) else [*columns, "extra"]
    return ent, draw(mutated(csv_bytes(ent, rows, columns, draw(st.booleans()))))


@st.composite
def document_file(draw: st.DrawFn) -> tuple[Entity, bytes]:
    key = draw(st.sampled_from(sorted(DOCUMENTS)))
    ent = next(e for e in LANDED if (e.channel, e.name) == key)
    doc: dict = {"exported_at": "2026-03-01T00:00:00Z"}
    for array, of in zip(DOCUMENTS[key], (ent, RATES), strict=False):
        doc[array] = draw(swapped(of, draw(st.integers(0, 4))))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    return ent, draw(mutated(text.encode()))


def file_name(ent: Entity) -> str:
    return f"{ent.channel}/{ent.pattern.replace('*', '20260301_000')}"


# ---------------------------------------------------------------- the oracle
class Hang(Exception):
    """An example ran past ``TIME_LIMIT``."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """SIGALRM raises ``Hang`` in the main thread (the ingest waits there for its workers);
    a hang inside native code, which never returns to Python, ends the process after twice
    the time with every thread's traceback (``faulthandler``), rather than stalling the run."""
    def expired(signum, frame):
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(2 * seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def blank(line: bytes) -> bool:
    return not line.strip(BLANK)


def lines_of(data: bytes) -> list[bytes]:
    """Lines by number - 1, without a leading byte order mark."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    return data.split(b"\n") if data else []


def check(result: IngestResult, home: Home, landing: dict[str, bytes]) -> None:
    """What must hold for any landing zone (DESIGN.md rules 3 and 4)."""
    landed, quarantined = ingest_outcome(home)
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    for f in result.files:
        mine = quarantined.filter(pl.col("_source_file") == f.relpath)
        good = landed.get(f.relpath, [])
        assert f.rows_read == f.rows_bronze + f.rows_quarantined == len(good) + mine.height
        data, document = landing[f.relpath], f.relpath.endswith(".json")
        for row in mine.iter_rows(named=True):
            check_reason(row, f.relpath, document)
        if not document:
            check_lines(data, good, mine, csv_file=f.relpath.endswith(".csv"))


def check_reason(row: dict, relpath: str, document: bool) -> None:
    """A quarantined row keeps its raw text; its reason names file, line (record), field."""
    reason, line = row["reason"], row["_line"]
    assert row["error_kind"] in ERROR_KINDS, row
    assert row["raw"] is not None and reason.startswith(relpath), row
    if row["field"] is not None:
        assert f"`{row['field']}`" in reason, row
    if document and row["error_kind"] == "unreadable_file":
        return  # the whole document is the row
    unit = "record" if document else "line"
    assert re.search(rf"\b{unit} {line}\b", reason), row


def check_lines(data: bytes, good: list[int], bad: pl.DataFrame, *, csv_file: bool) -> None:
    """Every non-blank line is one row (a CSV header is none; a quoted CSV record may span
    lines, and then its first line names it)."""
    lines = lines_of(data)
    rows = good + bad["_line"].to_list()
    assert len(rows) == len(set(rows)), "a line is in bronze or quarantine twice"
    assert all(1 <= n <= len(lines) and not blank(lines[n - 1]) for n in rows)
    wanted = {n for n, text in enumerate(lines, start=1) if not blank(text)}
    if not csv_file:
        assert set(rows) == wanted
        return
    if b'"' in data:
        return  # records may span lines: which lines start one is the csv reader's call
    header = min(wanted, default=None)
    usable = header == 1 and 1 not in rows
    assert set(rows) == (wanted - {1} if usable else wanted)


def run(landing: dict[str, bytes]) -> None:
    """Land the files in a fresh home, ingest them within the time limit, apply the oracle."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(Path(tmp) / "home").ensure()
        for rel, data in landing.items():
            path = home.landing / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        files = discover(home)
        with time_limit(TIME_LIMIT):
            result = ingest_files(home, files, batch_id_for(files), now=NOW)
        check(result, home, landing)


FUZZ = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fuzz(strategy: Callable[[], st.SearchStrategy]) -> Callable:
    @FUZZ
    @given(st.lists(strategy(), min_size=1, max_size=2))
    def test(files: list[tuple[Entity, bytes]]) -> None:
        landing = {}
        for k, (ent, data) in enumerate(files):  # two files of an entity are read as a group
            landing[file_name(ent).replace("_000.", f"_{k:03d}.")] = data
        run(landing)

    return test


test_fuzz_json_lines = _fuzz(jsonl_file)
test_fuzz_csv = _fuzz(csv_file)
test_fuzz_json_documents = _fuzz(document_file)


@FUZZ
@given(jsonl_file(), st.sampled_from(NASTY), st.integers(0, 6))
def test_fuzz_a_nasty_line_among_valid_ones(file: tuple[Entity, bytes], nasty: bytes,
                                            at: int) -> None:
    """A whole line of one nasty fragment (or a valid line with it appended) between valid
    lines: only that line may be quarantined (the group screen must not take the others)."""
    ent, data = file
    lines = data.split(b"\n")
    at = min(at, len(lines))
    lines.insert(at, nasty if at % 2 else (lines[at - 1] if at else b"{}") + nasty)
    run({file_name(ent): b"\n".join(lines)})


def test_time_limit_fires():
    """The watchdog of the oracle works (a hang would otherwise stall the suite)."""
    import time

    try:
        with time_limit(1):
            time.sleep(3)
    except Hang:
        return
    raise AssertionError("no Hang raised")


def test_seeds_from_the_contracts_land_whole():
    """Unbroken seeds are valid: every record of every JSON-lines entity lands in bronze."""
    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(JSONL).flatmap(lambda e: st.tuples(
        st.just(e), st.lists(record(e), min_size=1, max_size=5))))
    def seeds(pair: tuple[Entity, list[dict]]) -> None:
        ent, rows = pair
        with tempfile.TemporaryDirectory() as tmp:
            home = Home.resolve(Path(tmp) / "home").ensure()
            path = home.landing / file_name(ent)
            path.parent.mkdir(parents=True)
            path.write_bytes(jsonl_bytes(rows, False, True))
            files = discover(home)
            result = ingest_files(home, files, batch_id_for(files),
                                  now=NOW + timedelta(days=400))
            _, quarantined = ingest_outcome(home)
            assert result.rows_bronze == len(rows), quarantined["reason"].to_list()

    seeds()
