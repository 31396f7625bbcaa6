"""Fuzz the landing readers for a while and print what ran and what broke.

Usage: .venv/bin/python bench/fuzz_landing.py [--seconds N] [--engine atheris|hypothesis]
                                              [--out DIR]

``atheris`` (the default when it imports): coverage-guided fuzzing (libFuzzer) of the parse
entry points in memory, no Delta: the JSON-lines group and file readers, the CSV group and file
readers and the JSON-document reader, each followed by validation (``bronze.check.check_group``, the
ingest's own step), seeded with every file of ``tests/corpus/malformed`` (and the generated
kinds, smaller) for every reader of its format. The first input byte picks the reader and
entity, the rest is the file. The oracle is the one of ``tests/integration/test_fuzz_landing.py``
without the tables: no exception, rows = bronze + quarantine per file, every non-blank line one
row, reasons naming file, line and field, raw text kept. An input that breaks it is saved in
``--out`` and counted, and fuzzing goes on; a crash or hang of the process is libFuzzer's to
report (also saved in ``--out``). libFuzzer's status lines (``cov:``, ``exec/s``) go to stderr;
the summary line at the end has the figures.

``hypothesis``: the property tests' strategies (contract seeds, then mutations) through the real
ingest into real Delta tables, for ``--seconds``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "corpus" / "malformed"
NOW = datetime(2026, 3, 2, tzinfo=UTC)
STATS = {"executions": 0, "failures": 0, "started": time.time(), "saved": []}


def _readers():
    """(name, format, entity key) of every reader the first input byte can pick."""
    from lakehouse.channels import CHANNELS, NESTED

    out = []
    for ch in CHANNELS:
        for e in ch.entities:
            if (ch.name, e.name) in NESTED:
                continue
            if e.format == "jsonl":
                out += [("jsonl_group", e), ("jsonl_file", e)]
            elif e.format == "csv":
                out += [("csv_group", e), ("csv_file", e)]
            else:
                out.append(("document", e))
    return out


def parse_and_check(reader: str, ent, data: bytes) -> None:
    """One file through one reader and validation; AssertionError when the oracle fails."""
    from lakehouse.channels import entity
    from lakehouse.ingest.bronze.check import check_group
    from lakehouse.ingest.group import from_parsed, parse_csv_group, parse_jsonl_group
    from lakehouse.ingest.parse import parse_csv, parse_document, parse_jsonl

    where = f"{ent.channel}/{ent.pattern.replace('*', 'fuzz')}"
    if reader == "jsonl_group":
        groups = {ent.name: parse_jsonl_group(ent, [data], [where])}
    elif reader == "jsonl_file":
        groups = {ent.name: from_parsed([parse_jsonl(ent, data, where)])}
    elif reader == "csv_group":
        groups = {ent.name: parse_csv_group(ent, [data], [where])}
    elif reader == "csv_file":
        groups = {ent.name: from_parsed([parse_csv(ent, data, where)])}
    else:
        ents = [ent] + ([entity("locations", "shipping_rates")] if ent.name == "locations"
                        else [])
        parsed = parse_document(ents, data, where)
        groups = {e.name: from_parsed([parsed[e.name]]) for e in ents}
    for name, group in groups.items():
        e = ent if name == ent.name else entity("locations", "shipping_rates")
        good, bad = check_group(e, group, (where,), NOW, timedelta(days=1), {"S1": "UTC"})
        assert group.rows[0] == good.height + bad.height, "rows != bronze + quarantine"
        _check_rows(where, reader, data, good["_line"].to_list(), bad)


def _check_rows(where: str, reader: str, data: bytes, good: list[int], bad) -> None:
    import re

    from tests.integration.test_fuzz_landing import check_lines

    document = reader == "document"
    for row in bad.iter_rows(named=True):
        reason, line = row["reason"], row["_line"]
        assert row["_raw"] is not None and reason.startswith(where), row
        if row["field"] is not None:
            assert f"`{row['field']}`" in reason, row
        if not (document and row["error_kind"] == "unreadable_file"):
            unit = "record" if document else "line"
            assert re.search(rf"\b{unit} {line}\b", reason), row
    if not document:
        check_lines(data, good, bad, csv_file=reader.startswith("csv"))


def seeds(readers) -> list[bytes]:
    """Every corpus file for every reader of its format (selector byte + bytes)."""
    from tests.corpus.malformed.generate import deep_nesting, huge_field

    files: dict[str, list[bytes]] = {}
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.parent.parent.parent == CORPUS:
            files.setdefault(path.suffix, []).append(path.read_bytes())
    for landing in (deep_nesting(), huge_field(1 << 16)):
        for rel, data in landing.items():
            files.setdefault(Path(rel).suffix, []).append(data)
    out = []
    for i, (_, ent) in enumerate(readers):
        for data in files.get("." + {"jsonl": "jsonl", "csv": "csv", "json": "json"}[ent.format],
                              []):
            out.append(bytes([i]) + data)
    return out


def _summary(engine: str) -> None:
    seconds = time.time() - STATS["started"]
    print(f"engine={engine} executions={STATS['executions']:,} failures={STATS['failures']} "
          f"seconds={seconds:.0f} exec_per_s={STATS['executions'] / max(seconds, 1e-9):,.0f}"
          + (f" saved={','.join(STATS['saved'])}" if STATS["saved"] else ""), flush=True)


def run_atheris(seconds: int, out: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["lakehouse"]):
        import lakehouse.ingest.bronze
        import lakehouse.ingest.group
        import lakehouse.ingest.parse
        import lakehouse.ingest.validate  # noqa: F401
    readers = _readers()
    seed_dir = Path(tempfile.mkdtemp(prefix="fuzz-seeds-"))
    for s in seeds(readers):
        (seed_dir / hashlib.sha1(s).hexdigest()).write_bytes(s)

    def one_input(data: bytes) -> None:
        STATS["executions"] += 1
        if not data:
            return
        reader, ent = readers[data[0] % len(readers)]
        try:
            parse_and_check(reader, ent, data[1:])
        except Exception as exc:  # recorded, not fatal: fuzzing goes on
            STATS["failures"] += 1
            out.mkdir(parents=True, exist_ok=True)
            name = f"{reader}-{ent.channel}-{ent.name}-{hashlib.sha1(data).hexdigest()[:12]}"
            (out / name).write_bytes(data[1:])
            STATS["saved"].append(name)
            print(f"FAILURE {name}: {type(exc).__name__}: {str(exc)[:300]}", flush=True)

    out.mkdir(parents=True, exist_ok=True)  # libFuzzer writes crashes and hangs there too
    argv = [sys.argv[0], f"-max_total_time={seconds}", "-timeout=30", "-rss_limit_mb=6144",
            "-max_len=200000", "-print_final_stats=1", f"-artifact_prefix={out}/",
            str(seed_dir)]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def supervise_atheris(seconds: int, out: Path) -> None:
    """Run libFuzzer in a child process (it ends the process itself, and a crash of a native
    library kills it) and print its figures: executions, coverage, failures, crashes."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "fuzz.log"
    started = time.time()
    cov = ft = corpus = "?"
    runs = failures = 0
    with log.open("w") as sink:
        child = subprocess.Popen([sys.executable, __file__, "--child", "--seconds", str(seconds),
                                  "--out", str(out)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace")
        assert child.stdout is not None
        for line in child.stdout:
            sink.write(line)
            sink.flush()  # the log can be followed while fuzzing runs
            if (m := re.match(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\S+)", line)):
                runs, cov, ft, corpus = int(m[1]), m[2], m[3], m[4]
            elif (m := re.match(r"Done (\d+) runs", line)):
                runs = int(m[1])
            elif line.startswith("FAILURE"):
                failures += 1
                print(line.rstrip()[:400], flush=True)
        code = child.wait()
    crashes = sorted(p.name for p in out.iterdir()
                     if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    seconds_run = time.time() - started
    print(f"engine=atheris executions={runs:,} coverage_edges={cov} features={ft} "
          f"corpus={corpus} failures={failures} crashes={len(crashes)} exit={code} "
          f"seconds={seconds_run:.0f} exec_per_s={runs / max(seconds_run, 1e-9):,.0f} "
          f"log={log}" + (f" crash_inputs={','.join(crashes)}" if crashes else ""), flush=True)


def run_hypothesis(seconds: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.integration import test_fuzz_landing as fz

    deadline = time.time() + seconds

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(fz.jsonl_file(), fz.csv_file(), fz.document_file()))
    def one(file) -> None:
        if time.time() > deadline:
            return  # the rest of this round is no work
        STATS["executions"] += 1
        ent, data = file
        fz.run({fz.file_name(ent): data})

    while time.time() < deadline:  # rounds of fresh random examples until the time is up
        try:
            one()
        except Exception as exc:  # hypothesis has shrunk it: print, count, go on
            STATS["failures"] += 1
            print(f"FAILURE: {type(exc).__name__}: {str(exc)[:500]}", flush=True)
    _summary("hypothesis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--engine", choices=["atheris", "hypothesis"], default=None)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-landing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_atheris(args.seconds, args.out)
        return
    engine = args.engine
    if engine is None:
        import importlib.util

        engine = "atheris" if importlib.util.find_spec("atheris") else "hypothesis"
    if engine == "atheris":
        supervise_atheris(args.seconds, args.out)
    else:
        run_hypothesis(args.seconds)


if __name__ == "__main__":
    main()
