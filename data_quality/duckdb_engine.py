"""The opt-in row-level engine (``engine="duckdb"``): a suite's expectations as the gate's own
SQL in one aggregate scan, with no GX import and no pandas.

It gives the same outcomes as Great Expectations (``data_quality.gx_engine``, the default),
held equal by a generated corpus (tests/unit/data_quality/test_gx_engine.py).
"""

from __future__ import annotations

from data_quality.gx_project import snake
from data_quality.results import SAMPLE_SIZE, Outcome
from data_quality.suites import PII_PATTERN, Expect, Suite, pii_candidate_sql


def _sampled(suite: Suite, expectation_type: str, column: str | None) -> bool:
    """Unexpected values are shown, except PII, and except nulls (nothing to show)."""
    return column not in suite.pii_columns and (
        expectation_type != "expect_column_values_to_not_be_null")


def _unexpected_sql(e: Expect) -> tuple[str, list]:
    """The SQL condition for a row this expectation rejects, with GX's semantics (nulls are
    unexpected only for not-null)."""
    col, kw = f'"{e.column}"', dict(e.kwargs)
    if e.type == "ExpectColumnValuesToNotBeNull":
        return f"{col} is null", []
    if e.type == "ExpectColumnValuesToBeInSet":
        values = list(kw["value_set"])
        return f"{col} is not null and {col} not in ({', '.join('?' * len(values))})", values
    if e.type == "ExpectColumnValuesToBeBetween":
        parts, params = [], []
        for key, op in (("min_value", "<"), ("max_value", ">")):
            if kw.get(key) is not None:
                parts.append(f"{col} {op} ?")
                params.append(kw[key])
        return f"{col} is not null and ({' or '.join(parts)})", params
    if e.type == "ExpectColumnValuesToMatchRegex":
        return f"{col} is not null and not regexp_matches({col}, ?)", [kw["regex"]]
    if e.type == "ExpectColumnValuesToNotMatchRegex":
        # the PII pattern is searched only where it can match (suites.pii_candidate_sql),
        # through a CASE: an aggregate's FILTER evaluates every term of an AND on every row
        searched = (f"case when {pii_candidate_sql(col)} then {col} end"
                    if kw["regex"] == PII_PATTERN else col)
        return f"{col} is not null and regexp_matches({searched}, ?)", [kw["regex"]]
    raise ValueError(f"expectation {e.type} has no DuckDB form; validate with engine='gx'")


def validate_in_duckdb(con, suite: Suite, expectations: tuple[Expect, ...]) -> list[Outcome]:
    """The same expectations on view ``t`` as one aggregate scan in DuckDB: no GX import, no
    pandas."""
    if not expectations:
        return []
    conditions = [_unexpected_sql(e) for e in expectations]
    counts = ", ".join(f"count(*) filter (where {sql})" for sql, _ in conditions)
    args = [p for _, ps in conditions for p in ps]
    total, *unexpected = con.execute(f"select count(*), {counts} from t", args).fetchall()[0]
    outcomes = []
    for e, (sql, ps), bad in zip(expectations, conditions, unexpected, strict=True):
        outcome = Outcome(e.name, e.column, bad == 0, element_count=total, unexpected_count=bad)
        if bad and _sampled(suite, snake(e.type), e.column):
            rows = con.execute(f'select "{e.column}"::varchar from t where {sql} '
                               f"limit {SAMPLE_SIZE}", ps).fetchall()
            outcome.sample = [r[0] for r in rows]
        outcomes.append(outcome)
    return outcomes
