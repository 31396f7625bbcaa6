"""Row-level gate engines on a bronze-like suite: GX pushed down into DuckDB (gx_engine) and the
gate's hand-written DuckDB SQL (duckdb_engine). Prints seconds per engine and size. (GX on pandas
chunks, the third engine this once compared, was removed from the gate in 5e60e41.)

    .venv/bin/python bench/bench_gx_engine.py [rows ...]   (default: 200000 1000000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_quality.duckdb_engine import validate_in_duckdb
from data_quality.gx_engine import validate_rows
from data_quality.suites import Expect, Suite

SUITE = Suite("bench.bronze_like", (
    *(Expect("ExpectColumnValuesToNotBeNull", c) for c in
      ("_source_file", "_line", "_batch_id", "order_id", "email", "amount")),
    Expect("ExpectColumnValuesToBeBetween", "_line", (("min_value", 1),)),
    Expect("ExpectColumnValuesToBeBetween", "amount", (("min_value", 0), ("max_value", 5000))),
    Expect("ExpectColumnValuesToBeBetween", "quantity", (("min_value", 1), ("max_value", 99))),
    Expect("ExpectColumnValuesToBeInSet", "channel", (("value_set", ("web", "app", "store")),)),
    Expect("ExpectColumnValuesToBeInSet", "status", (("value_set", ("new", "paid", "shipped")),)),
    Expect("ExpectColumnValuesToMatchRegex", "order_id", (("regex", r"^O[0-9]+$"),)),
    Expect("ExpectColumnValuesToNotMatchRegex", "note", (("regex", r"[^@\s]+@[^@\s]+\.[a-z]+"),)),
), pii_columns=frozenset({"email", "note"}))


def _data(n: int, path: Path) -> None:
    rng = np.random.default_rng(1)
    pq.write_table(pa.table({
        "_source_file": np.full(n, "landing/orders/part-0001.jsonl"),
        "_line": np.arange(1, n + 1),
        "_batch_id": np.full(n, "b1"),
        "order_id": np.char.add("O", rng.integers(0, 10**9, n).astype(str)),
        "email": np.char.add(rng.integers(0, 10**6, n).astype(str), "@example.com"),
        "amount": rng.gamma(2.0, 40.0, n),
        "quantity": rng.integers(1, 100, n),
        "channel": rng.choice(["web", "app", "store"], n),
        "status": rng.choice(["new", "paid", "shipped", "lost"], n, p=[.3, .3, .3999, .0001]),
        "note": rng.choice(["", "call me", "gift"], n),
    }), path)


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        validate_rows(None, "select 1 as x", Suite("warm", ()), ())  # nothing: no GX import
        import great_expectations  # noqa: F401  (import cost reported, not charged below)
        print(f"great_expectations import: {time.perf_counter() - t:.1f} s")
        for n in sizes:
            path = Path(tmp) / f"rows_{n}.parquet"
            _data(n, path)
            query = f"select * from read_parquet(['{path}'])"
            exps = SUITE.expectations
            t = time.perf_counter()
            validate_rows(None, query, SUITE, exps)
            first = time.perf_counter() - t
            t = time.perf_counter()
            gx_sql = validate_rows(None, query, SUITE, exps)
            gx_sql_s = time.perf_counter() - t
            con = duckdb.connect()
            con.execute(f"create view t as {query}")
            t = time.perf_counter()
            duck = validate_in_duckdb(con, SUITE, exps)
            duck_s = time.perf_counter() - t
            con.close()
            same = ({o.name: o.unexpected_count for o in gx_sql}
                    == {o.name: o.unexpected_count for o in duck})
            print(f"{n:>9} rows, {len(exps)} expectations: GX-SQL {gx_sql_s:.2f} s "
                  f"(first call {first:.2f} s) | DuckDB-SQL {duck_s:.2f} s | "
                  f"GX-SQL == DuckDB-SQL: {same}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200_000, 1_000_000])
