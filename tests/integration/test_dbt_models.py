"""The dbt project on a small simulated home: real Delta tables, the real dbt CLI (dbt-duckdb
with the lakehouse plugin), a real DuckDB warehouse.

One scenario, two `dbt build` invocations (kept in one test so parallel workers never build
the home twice; that is also why this module runs to ~540 lines: its assertions all read the
one home the scenario builds):

1. Every silver and gold table gets a validated version; then silver/orders gets a newer,
   unvalidated version (an order the warehouse must not see) and silver/ad_spend is removed
   (a channel that never delivered). First build.
2. A new validated batch of clickstream events, one older event and one till transaction
   withdrawn from silver, and identity resolution moves one web visitor to another person (new
   validated identity map). Second build: the incremental facts pick up exactly the new and
   re-linked rows and drop the withdrawn ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.forecast import publish_forecast
from lakehouse.home import Home
from lakehouse.identity.pii import load_key, pseudonymise
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.ml import publish_feature_marts
from lakehouse.replenish import publish_replenishment
from lakehouse.segments import publish_segments
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.validations import record_validation
from tests.gated import build_inventory, build_silver, gate, resolve_home
from tests.readme import readme_block, readme_questions

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
MARTS = ("dim_dates", "dim_customers", "dim_households", "dim_products", "dim_locations",
         "fct_orders",
         "fct_order_lines", "fct_interactions", "fct_sessions", "fct_inventory_positions",
         "fct_inventory_daily", "fct_shipments", "fct_returns", "fct_marketing_performance",
         "fct_touchpoints", "fct_conversions", "fct_attribution", "fct_attribution_channels",
         "fct_attribution_campaigns")
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
                      "position_based", "markov", "shapley")
UNVALIDATED_ORDER = "UNVALIDATED-ORDER-1"
NEW_BATCH = "b-dbt-test-second"


def _read(uri: Path) -> pa.Table:
    return DeltaTable(str(uri)).to_pyarrow_table()


def _validate_all(home: Home) -> None:
    """What the gates do when they pass: record the current version of every table."""
    for layer in ("silver", "gold"):
        for path in sorted((home.lake / layer).iterdir()):
            dt = DeltaTable(str(path))
            record_validation(path, dt.version(), f"{layer}.{path.name}", 0, "test")


def _append_like(uri: Path, rows: pa.Table, **columns) -> int:
    """Append ``rows`` with some columns replaced; returns the new table version."""
    schema = DeltaTable(str(uri)).schema().to_arrow()
    for name, values in columns.items():
        rows = rows.set_column(rows.schema.get_field_index(name), name,
                               pa.array(values, rows.schema.field(name).type))
    write_deltalake(str(uri), rows.cast(pa.schema(schema)), mode="append")
    return DeltaTable(str(uri)).version()


def _dbt_build(home: Home, work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home.root),
           "LAKEHOUSE_DBT_DATABASE": str(home.root / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    env.pop("LAKEHOUSE_WAREHOUSE_UNVALIDATED", None)  # validated versions only
    done = subprocess.run(
        [str(DBT), "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return done


def _q(home: Home, sql: str) -> list[tuple]:
    con = duckdb.connect(str(home.root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("dbt_home"))
    simulate(home, SimConfig(persons=300, days=10, seed=23))
    for spend in (home.landing / "ads").glob("spend_*"):  # ad spend: never delivered
        spend.unlink()
    files = discover(home.root)
    batch = batch_id_for(files)
    ingest_files(home.root, files, batch)
    build_silver(home.root, batch)
    resolve_home(home)
    build_inventory(home)
    # the ML products the merchandising and segment marts read, each behind its gate
    publish_feature_marts(home)
    gate(home, "gold")
    publish_segments(home)
    publish_forecast(home)
    gate(home, "gold")
    publish_replenishment(home)
    assert not (home.silver / "ad_spend").exists()
    _validate_all(home)
    # a newer version of orders that no gate has passed
    orders = _read(home.silver / "orders")
    _append_like(home.silver / "orders", orders.slice(0, 1), order_id=[UNVALIDATED_ORDER])
    return home


def test_dbt_builds_linked_pseudonymised_marts_incrementally(home: Home, tmp_path: Path) -> None:
    key = load_key(home.root)
    _dbt_build(home, tmp_path)
    _every_model_is_a_table_readable_without_python(home)
    _orders_cover_web_app_and_store_with_silver_revenue(home)
    _orders_link_to_the_identity_map_person(home, key)
    _households_add_up_to_the_customers(home)
    _reads_validated_versions_and_tolerates_a_missing_table(home)
    _no_raw_pii_in_any_warehouse_column(home)
    _journeys_end_at_the_next_conversion_within_the_look_back(home)
    _every_mart_answers_its_readme_question(home)
    _every_conversion_is_credited_once_by_every_model(home)
    _analysts_get_plain_types_honest_counts_and_freshness(home)
    _dbt_docs_are_served_for_the_published_warehouse(home)

    before = _q(home, "select count(*) from fct_interactions")[0][0]
    added, moved_hash, new_person = _second_batch(home, key)
    withdrawn_event, withdrawn_till = _withdraw_an_event_and_a_till_sale(home)
    _orders_held_as_if_built_by_other_sql(home)
    _dbt_build(home, tmp_path)
    _orders_rebuilt_by_todays_sql(home)
    # gone: the event, and the till sale's store-purchase touch (`pos:<transaction>`)
    _incremental_build_holds_new_and_relinked_rows(home, before - 2, added, moved_hash,
                                                   new_person)
    _withdrawn_rows_are_gone(home, withdrawn_event, withdrawn_till)
    _staging_read_only_the_files_it_had_not_read(home, tmp_path)
    _attribution_tests_fail_on_broken_credits(home, tmp_path)


def _every_model_is_a_table_readable_without_python(home: Home) -> None:
    # a new process with plain duckdb: no plugin, no UDF, no in-process Arrow
    script = textwrap.dedent(f"""
        import duckdb
        con = duckdb.connect({str(home.root / "warehouse.duckdb")!r}, read_only=True)
        tables = con.execute("select table_schema, table_name, table_type "
                             "from information_schema.tables").fetchall()
        for schema, name, kind in tables:
            assert kind == "BASE TABLE", (schema, name, kind)
            con.execute(f'select count(*) from "{{schema}}"."{{name}}"').fetchall()
        print(sorted(name for _, name, _ in tables))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    names = set(eval(done.stdout))  # our own printed list
    assert set(MARTS) <= names
    assert "_warehouse_inputs" not in names  # internal tables live in lakehouse_meta
    assert {"warehouse_inputs", "mart_freshness"} <= names
    assert {n for n in names if n.startswith("stg_")} >= {"stg_silver__orders",
                                                          "stg_gold__identity_map"}
    for mart in MARTS:
        assert _q(home, f"select count(*) from main.{mart}")[0][0] > 0, mart


def _orders_cover_web_app_and_store_with_silver_revenue(home: Home) -> None:
    channels = {c for (c,) in _q(home, "select distinct channel from fct_orders")}
    assert channels == {"web", "app", "store"}
    lines = _read(home.silver / "order_lines")
    till = _read(home.silver / "pos_transaction_lines")

    def net(t: pa.Table) -> float:
        gross = pc.multiply(pc.cast(t["quantity"], pa.float64()), t["unit_price"])
        return pc.sum(pc.subtract(gross, pc.fill_null(t["discount"], 0.0))).as_py()

    expected = net(lines) + net(till)
    (got_lines,), = _q(home, "select sum(net_revenue) from fct_order_lines")
    (got_orders,), = _q(home, "select sum(net_revenue) from fct_orders")
    assert got_lines == pytest.approx(expected, rel=1e-9)
    assert got_orders == pytest.approx(expected, rel=1e-9)
    (n_orders,), = _q(home, "select count(*) from fct_orders where channel in ('web', 'app')")
    shop_orders = set(_read(home.silver / "orders")["order_id"].to_pylist())
    assert n_orders == len(shop_orders - {UNVALIDATED_ORDER})


def _orders_link_to_the_identity_map_person(home: Home, key: bytes) -> None:
    imap = _read(home.lake / "gold" / "identity_map").to_pylist()
    person = {(r["source"], r["identifier_hash"]): r["person_id"] for r in imap
              if r["identifier_type"] == "record"}
    orders = _read(home.silver / "orders").to_pylist()
    expected = {}
    for o in orders:
        if o["order_id"] == UNVALIDATED_ORDER:
            continue
        source, rid = (("shop_customer", o["customer_id"]) if o["customer_id"]
                       else ("shop_guest", o["order_id"]))
        expected[o["order_id"]] = person.get((source, pseudonymise(rid, key)))
    till = _read(home.silver / "pos_transaction_lines").to_pylist()
    named = {t["transaction_id"] for t in till if t["loyalty_card"] or t["card_token"]}
    for t in {t["transaction_id"] for t in till}:
        expected[t] = person.get(("pos", pseudonymise(t, key))) if t in named else None
    got = dict(_q(home, "select order_id, person_id from fct_orders"))
    assert got == expected
    linked = sum(p is not None for p in got.values())
    assert linked > 0.5 * len(got)  # most orders belong to a known person
    # and every linked person is a customer in the dimension
    (orphans,), = _q(home, "select count(*) from fct_orders o left join dim_customers c "
                           "using (person_id) "
                           "where o.person_id is not null and c.person_id is null")
    assert orphans == 0


def _households_add_up_to_the_customers(home: Home) -> None:
    (households, persons, multi), = _q(home, "select count(*), sum(persons), "
                                             "count(*) filter (where persons > 1) "
                                             "from dim_households")
    (customers, distinct), = _q(home, "select count(*), count(distinct household_id) "
                                      "from dim_customers")
    assert households == distinct > 0 and persons == customers and multi > 0
    profiles = _read(home.lake / "gold" / "customer_profiles")
    assert households == len(set(profiles["household_id"].to_pylist()))
    # a customer's household_size is its household's persons; activity sums to the members'
    (mismatched,), = _q(home, "select count(*) from dim_customers c join dim_households h "
                              "using (household_id) where c.household_size <> h.persons")
    assert mismatched == 0
    totals = _q(home, "select sum(order_count), round(sum(total_revenue), 6), sum(records) "
                      "from dim_households")
    assert totals == _q(home, "select sum(order_count), round(sum(total_revenue), 6), "
                              "sum(record_count) from dim_customers")


def _reads_validated_versions_and_tolerates_a_missing_table(home: Home) -> None:
    assert _q(home, f"select count(*) from fct_orders where order_id = '{UNVALIDATED_ORDER}'"
              ) == [(0,)]
    inputs = {(layer, t): (v, ok) for layer, t, v, ok in _q(
        home, "select layer, table_name, version, validated from lakehouse_meta.warehouse_inputs")}
    assert inputs[("silver", "orders")] == (0, True)  # not the newer version 1
    assert inputs[("silver", "ad_spend")] == (None, False)
    assert _q(home, "select count(*) from staging.stg_silver__ad_spend") == [(0,)]
    (rows, spend), = _q(home, "select count(*), sum(ad_spend) from fct_marketing_performance")
    assert rows > 0 and spend == 0


def _analysts_get_plain_types_honest_counts_and_freshness(home: Home) -> None:
    # HUGEINT (128-bit, what DuckDB's sum of integers gives) is mishandled by many clients
    wide = _q(home, "select table_schema, table_name, column_name from "
              "information_schema.columns where data_type in ('HUGEINT', 'UHUGEINT')")
    assert wide == []
    # units sold leave cancelled orders out (the lines of cancelled web and app orders)
    (sold,), = _q(home, "select sum(units_sold) from dim_products")
    (kept,), = _q(home, "select sum(units) from fct_orders where not is_cancelled")
    assert sold == kept
    # where a person bought is not where they were reached
    (bad,), = _q(home, "select count(*) from dim_customers where not list_has_all("
                 "['web', 'app', 'store'], order_channels)")
    assert bad == 0
    # every mart says how fresh its inputs were, from the lake versions its build read
    marts = {m for (m,) in _q(home, "select table_name from information_schema.tables "
                                    "where table_schema = 'main'")}
    fresh = {m: (inputs, newest, oldest) for m, inputs, newest, oldest in _q(
        home, "select mart, inputs, inputs_committed_at, stalest_input_committed_at "
              "from lakehouse_meta.mart_freshness")}
    assert set(fresh) == marts - {"_warehouse_inputs"}
    inputs, newest, oldest = fresh["fct_orders"]
    assert {"silver/orders", "silver/order_lines", "gold/identity_map"} <= set(inputs)
    assert oldest <= newest
    assert fresh["dim_dates"][0] == []


def _no_raw_pii_in_any_warehouse_column(home: Home) -> None:
    raw: set[str] = set()
    pii = {"orders": ["email", "phone", "customer_email", "customer_first_name",
                      "customer_last_name", "customer_phone", "ship_first_name",
                      "ship_last_name", "ship_address1", "ship_phone", "payment_fingerprint",
                      "customer_id", "browser_id"],
           "loyalty_members": ["email", "phone", "first_name", "last_name", "address_line1",
                               "loyalty_id"],
           "email_events": ["email"], "reviews": ["reviewer_email", "reviewer_name"],
           "pos_transaction_lines": ["loyalty_card", "card_token"],
           "clickstream_events": ["anonymous_id", "login_id"]}
    for table, columns in pii.items():
        data = _read(home.silver / table)
        for c in columns:
            raw |= {v for v in data[c].to_pylist() if v and len(v) >= 4}
    assert len(raw) > 1000
    con = duckdb.connect(str(home.root / "warehouse.duckdb"), read_only=True)
    try:
        con.register("raw_pii", pa.table({"v": sorted(raw)}))
        cols = con.execute("""select table_schema, table_name, column_name, data_type
                              from information_schema.columns
                              where data_type in ('VARCHAR', 'VARCHAR[]')
                                and table_name <> 'raw_pii'""").fetchall()
        assert len(cols) > 100
        leaks = []
        for schema, table, column, kind in cols:
            ref = f'"{schema}"."{table}"."{column}"'
            value = f"unnest({ref})" if kind.endswith("[]") else ref
            (n,), = con.execute(f'select count(*) from (select {value} as v from "{schema}".'
                                f'"{table}") join raw_pii using (v)').fetchall()
            if n:
                leaks.append((schema, table, column, n))
        assert leaks == []
    finally:
        con.close()


def _second_batch(home: Home, key: bytes) -> tuple[set[str], str, str]:
    """A validated batch of 7 new clickstream events, and one web visitor moved to another
    person by identity resolution (a validated new identity map)."""
    events = _read(home.silver / "clickstream_events")
    new = events.slice(0, 7)
    ids = [f"dbt-test-event-{i}" for i in range(new.num_rows)]
    now = datetime.now(UTC)
    version = _append_like(home.silver / "clickstream_events", new, event_id=ids,
                           _batch_id=[NEW_BATCH] * new.num_rows,
                           _ingested_at=[now] * new.num_rows)
    record_validation(home.silver / "clickstream_events", version, "silver.clickstream_events", 7)

    imap = _read(home.lake / "gold" / "identity_map")
    rows = imap.to_pylist()
    visitor = next(r["anonymous_id"] for r in events.to_pylist() if r["channel"] == "web")
    moved = pseudonymise(visitor, key)
    profiles = _read(home.lake / "gold" / "customer_profiles").select(
        ["person_id", "household_id"]).to_pylist()
    old = next(r["person_id"] for r in rows if r["source"] == "web"
               and r["identifier_type"] == "record" and r["identifier_hash"] == moved)
    target = next(p for p in profiles if p["person_id"] != old)
    for r in rows:
        if r["source"] == "web" and r["identifier_hash"] == moved:
            r["person_id"], r["household_id"] = target["person_id"], target["household_id"]
    write_deltalake(str(home.lake / "gold" / "identity_map"),
                    pa.Table.from_pylist(rows, schema=imap.schema), mode="overwrite")
    uri = home.lake / "gold" / "identity_map"
    record_validation(uri, DeltaTable(str(uri)).version(), "gold.identity_map", len(rows))
    return set(ids), moved, target["person_id"]


def _orders_held_as_if_built_by_other_sql(home: Home) -> None:
    """Every held order with a value no SQL of today's makes, and the state of the SQL its rows
    were built by set to another one: what a change of the model's SQL (or of a model or macro
    upstream of it) leaves behind. The second batch changes no order, so an incremental build
    that trusted its held rows would keep the value."""
    con = duckdb.connect(str(home.root / "warehouse.duckdb"))
    try:
        con.execute("update main.fct_orders set currency = 'XXX'")
        held = con.execute("update lakehouse_meta.lake_file_models set state = 'other sql' "
                           "where relation = 'main.fct_orders'").fetchall()[0][0]
    finally:
        con.close()
    assert held == 1, "the first build recorded no SQL state for fct_orders"


def _orders_rebuilt_by_todays_sql(home: Home) -> None:
    rows = _q(home, "select count(*), count(*) filter (where currency = 'XXX'), "
                    "count(distinct order_id) from main.fct_orders")[0]
    assert rows[0] > 0 and rows[1] == 0 and rows[2] == rows[0], rows
    states = dict(_q(home, "select relation, state from lakehouse_meta.lake_file_models "
                           "where relation like 'main.fct_%'"))
    assert set(states) == {"main.fct_orders", "main.fct_order_lines", "main.fct_interactions"}
    assert all(len(state) == 32 for state in states.values()), states  # an md5, recorded anew


def _withdraw_an_event_and_a_till_sale(home: Home) -> tuple[str, str]:
    """One clickstream event of the first build and every line of one till transaction are
    deleted from silver (validated new versions): the facts must drop them without a full
    refresh."""
    events = home.silver / "clickstream_events"
    event = next(r["event_id"] for r in _read(events).to_pylist()
                 if r["_batch_id"] != NEW_BATCH)
    tills = home.silver / "pos_transaction_lines"
    till = _read(tills).column("transaction_id")[0].as_py()
    for uri, predicate in ((events, f"event_id = '{event}'"),
                           (tills, f"transaction_id = '{till}'")):
        dt = DeltaTable(str(uri))
        assert dt.delete(predicate)["num_deleted_rows"] >= 1
        record_validation(uri, dt.version(), f"silver.{uri.name}", 0, "test")
    return f"clickstream:{event}", till


def _withdrawn_rows_are_gone(home: Home, event: str, till: str) -> None:
    assert _q(home, "select count(*) from fct_interactions where interaction_id in "
                    f"('{event}', 'pos:{till}')") == [(0,)]
    assert _q(home, f"select count(*) from fct_orders where order_id = '{till}'") == [(0,)]
    assert _q(home, f"select count(*) from fct_order_lines where order_id = '{till}'"
              ) == [(0,)]
    # the lines hold exactly the upstream keys, as a full build would
    assert _q(home, """select count(*) from (
        (select order_line_id from fct_order_lines
         except select order_line_id from intermediate.int_order_lines__unioned)
        union all
        (select order_line_id from intermediate.int_order_lines__unioned
         except select order_line_id from fct_order_lines))""") == [(0,)]


def _staging_read_only_the_files_it_had_not_read(home: Home, work: Path) -> None:
    """The second build read only the new files of the lake-file staging models, and they
    hold what a full build would: for every file of the validated snapshot, exactly the rows
    the Delta log counts in it, and no row of a file the snapshot no longer has (the
    withdrawn event's file was rewritten)."""
    compiled = work / "target" / "compiled" / "lakehouse" / "models" / "staging" / "silver"
    for table, key in (("clickstream_events", "event_id"),
                       ("pos_transaction_lines", "transaction_line_id"),
                       ("email_events", "event_id")):
        sql = (compiled / f"stg_silver__{table}.sql").read_text()
        assert f'silver_changes"."main"."{table}"' in sql or \
            f"silver_changes.main.{table}" in sql, sql[-600:]
        dt = DeltaTable(str(home.silver / table))
        actions = pa.table(dt.get_add_actions(flatten=True))
        expected = dict(zip(actions.column("path").to_pylist(),
                            actions.column("num_records").to_pylist(), strict=True))
        held = dict(_q(home, f"select _lake_file, count(*) from staging.stg_silver__{table} "
                             "group by 1"))
        assert held == expected, table
        rows = dt.to_pyarrow_table(columns=["_batch_id"]).num_rows
        assert _q(home, f"select count(*), count(distinct {key}) "
                        f"from staging.stg_silver__{table}") == [(rows, rows)]
    # the web/app and e-mail touches followed their staging rows file by file
    unioned = compiled.parents[1] / "intermediate" / "interactions"
    assert "_lake_file not in" in (unioned / "int_interactions__unioned.sql").read_text()
    for source, staging, kept in (
            ("clickstream", "stg_silver__clickstream_events", "true"),
            ("email", "stg_silver__email_events",
             "event_type in ('open', 'click', 'unsubscribe')")):
        touches = ("select interaction_id, _lake_file from intermediate.int_interactions__unioned "
                   f"where interaction_source = '{source}'")
        rows = f"select '{source}:' || event_id, _lake_file from staging.{staging} where {kept}"
        assert _q(home, f"select count(*) from (({touches} except all {rows}) "
                        f"union all ({rows} except all {touches}))") == [(0,)], source


def _incremental_build_holds_new_and_relinked_rows(home: Home, before: int, added: set[str],
                                                   moved_hash: str, new_person: str) -> None:
    (after, distinct), = _q(home, "select count(*), count(distinct interaction_id) "
                                  "from fct_interactions")
    assert after == distinct == before + len(added)
    got = {r[0] for r in _q(home, f"select interaction_id from fct_interactions "
                                  f"where _batch_id = '{NEW_BATCH}'")}
    assert got == {f"clickstream:{i}" for i in added}
    persons = {p for (p,) in _q(home, "select distinct person_id from fct_interactions "
                                      f"where identity_record_hash = '{moved_hash}'")}
    assert persons == {new_person}
    # the incremental facts equal what a full build computes from the same inputs
    for fact, source, key in (
            ("fct_interactions", "int_interactions__unioned", "interaction_id"),
            ("fct_orders", "int_orders__unioned", "order_id")):
        (diff,), = _q(home, f"""
            with full_build as (
                select s.{key}, p.person_id, s._batch_id
                from intermediate.{source} s
                left join intermediate.int_identity__record_persons p
                    using (identity_source, identity_record_hash)
            ), held as (select {key}, person_id, _batch_id from main.{fact})
            select count(*) from (
                (select * from full_build except select * from held)
                union all
                (select * from held except select * from full_build)
            )""")
        assert diff == 0, fact
    # the unvalidated order is still invisible
    assert _q(home, f"select count(*) from fct_orders where order_id = '{UNVALIDATED_ORDER}'"
              ) == [(0,)]


# README questions this scenario cannot answer with rows: no stock position goes negative in
# it, and its ad spend never landed (so no campaign has a cost)
EMPTY_HERE = {"fct_inventory_alerts", "fct_attribution_campaigns"}


def _every_mart_answers_its_readme_question(home: Home) -> None:
    questions = readme_questions()
    marts = {t for (t,) in _q(home, "select table_name from information_schema.tables "
                                    "where table_schema = 'main' and table_name not like '\\_%' "
                                    "escape '\\'")}
    assert {mart for mart, _ in questions} == marts
    rows = {mart: len(_q(home, sql)) for mart, sql in questions}
    assert {m for m, n in rows.items() if n == 0} <= EMPTY_HERE, rows


def _journeys_end_at_the_next_conversion_within_the_look_back(home: Home) -> None:
    (orders,), = _q(home, "select count(*) from fct_orders where not is_cancelled")
    (conversions,), = _q(home, "select count(*) from fct_conversions")
    assert conversions == orders > 0
    # a touch's conversion is the first conversion of the same person at or after it, at
    # most 30 days later; a touch with no such conversion is in a non-converting journey
    wrong = _q(home, """
        with t as (
            select touch_id, person_id, occurred_at, conversion_id from fct_touchpoints
            where person_id is not null and touch_type <> 'order'
        ),
        next as (
            select t.touch_id, min(c.converted_at) as next_at
            from t join fct_conversions c
                on c.person_id = t.person_id and c.converted_at >= t.occurred_at
            group by t.touch_id
        )
        select t.touch_id, t.conversion_id, c.converted_at, n.next_at
        from t left join next n using (touch_id)
        left join fct_conversions c on c.conversion_id = t.conversion_id
        where (t.conversion_id is not null and (c.converted_at <> n.next_at
                                                or n.next_at - t.occurred_at > interval 30 day))
           or (t.conversion_id is null and n.next_at - t.occurred_at <= interval 30 day)
        """)
    assert wrong == []
    kinds = dict(_q(home, "select touch_type, count(*) from fct_touchpoints group by all"))
    assert {"web_session", "app_session", "email_open", "store_visit"} <= set(kinds)
    # a visit that landed from an ad click is paid media, never organic or direct
    landed = dict(_q(home, "select touch_channel, count(*) from fct_touchpoints "
                           "where touch_type = 'web_session' and campaign_id like 'cmp-%' "
                           "group by all"))
    assert landed and set(landed) <= {"paid_search", "paid_social", "display"}


def _every_conversion_is_credited_once_by_every_model(home: Home) -> None:
    sums = _q(home, "select attribution_model, count(*), min(total), max(total) from ("
                    "  select attribution_model, conversion_id, sum(credit) as total"
                    "  from fct_attribution group by all) group by all")
    (conversions,), = _q(home, "select count(*) from fct_conversions")
    assert {m for m, *_ in sums} == set(ATTRIBUTION_MODELS)
    for model, n, low, high in sums:
        assert n == conversions, model
        assert low == pytest.approx(1.0, abs=1e-9) and high == pytest.approx(1.0, abs=1e-9)
    # last touch credits exactly the last touch of each journey
    credited = _q(home, "select position_in_journey = journey_length, count(*) "
                        "from fct_attribution where attribution_model = 'last_touch' "
                        "and credit > 0 group by all")
    assert credited == [(True, conversions)]
    # the README's question runs and answers per model and channel
    answer = _q(home, readme_block("## Marketing attribution", "sql"))
    assert {m for m, *_ in answer} == set(ATTRIBUTION_MODELS)
    # the roll-up holds every credited conversion and its revenue
    rollup = dict(_q(home, "select attribution_model, sum(attributed_conversions) "
                           "from fct_attribution_channels group by all"))
    assert rollup == {m: pytest.approx(conversions) for m in ATTRIBUTION_MODELS}
    (revenue,), = _q(home, "select sum(conversion_value) from fct_conversions")
    (credited,), = _q(home, "select sum(attributed_revenue) from fct_attribution_channels "
                            "where attribution_model = 'shapley'")
    assert credited == pytest.approx(revenue)


def _attribution_tests_fail_on_broken_credits(home: Home, work: Path) -> None:
    """The gate of the credits can fail: one credit raised breaks the sum for one model, a
    credit to a touch outside the journey breaks no-credit-after-conversion, and a model's
    credits dropped for one conversion leave it unaccounted. Runs the SQL dbt compiled for
    those tests in the build above (no second dbt process) on the corrupted warehouse."""
    compiled = {name: next(work.glob(f"target/compiled/**/{name}_int*.sql")).read_text()
                for name in ("credits_sum_to_one", "no_credit_after_conversion",
                             "every_conversion_credited")}
    con = duckdb.connect(str(home.root / "warehouse.duckdb"))
    try:
        assert {n: con.sql(q).fetchall() for n, q in compiled.items()} == {
            n: [] for n in compiled}  # the build passed them
        con.execute("""
            update intermediate.int_attribution__credits set credit = credit + 0.5
            where attribution_model = 'linear' and touch_id = (
                select min(touch_id) from intermediate.int_attribution__credits
                where attribution_model = 'linear')""")
        con.execute("""
            insert into intermediate.int_attribution__credits
            select c.conversion_id, c.journey_id, t.touch_id, c.touch_channel, c.campaign_id,
                   'markov', 0.0, 0.0
            from (select * from intermediate.int_attribution__credits
                  where attribution_model = 'markov' limit 1) as c
            cross join (select touch_id from main.fct_touchpoints
                        where conversion_id is null limit 1) as t""")
        con.execute("""
            delete from intermediate.int_attribution__credits
            where attribution_model = 'shapley' and conversion_id = (
                select max(conversion_id) from intermediate.int_attribution__credits)""")
        failing = {n: len(con.sql(q).fetchall()) for n, q in compiled.items()}
    finally:
        con.close()
    assert failing == {"credits_sum_to_one": 1, "no_credit_after_conversion": 1,
                       "every_conversion_credited": 1}


def _dbt_docs_are_served_for_the_published_warehouse(home: Home) -> None:
    """`lakehouse dev`'s docs server builds dbt's static docs site on the first request,
    describes the published warehouse (catalog with its marts) and reuses the page until the
    warehouse is published again."""
    import socket
    import urllib.request

    from orchestration.runtime.docs_server import serve_docs

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve_docs(home.root / "docs", "127.0.0.1", port, dbt=(DBT_DIR, str(DBT)))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dbt/", timeout=600) as response:
            assert response.status == 200
            page = response.read().decode()
        assert "dim_customers" in page and "fct_orders" in page and "catalog" in page
        built = (home.root / "docs" / "dbt" / "index.html").stat().st_mtime_ns
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dbt/index.html", timeout=60) as r:
            assert r.status == 200
        assert (home.root / "docs" / "dbt" / "index.html").stat().st_mtime_ns == built
    finally:
        server.shutdown()
        server.server_close()


def test_the_dbt_step_keeps_what_dbt_built_when_a_model_fails(tmp_path: Path) -> None:
    """Through Dagster (dagster-dbt): a model that fails (its source has no validated version)
    fails the step, after the step has yielded the models dbt did build, measured; the home
    reaches dbt only for the build (the environment is as it was afterwards)."""
    import dagster as dg

    from orchestration.assets.dbt import DbtResource, dbt_models
    from orchestration.resources import LakehouseResource

    home = Home.resolve(tmp_path / "home")
    write_deltalake(str(home.silver / "suppliers"), pa.table({"supplier_id": ["S1"]}))
    environment = dict(os.environ)
    built, failing = dg.AssetKey("dim_dates"), dg.AssetKey(["staging", "stg_silver__suppliers"])
    result = dg.materialize(
        [dbt_models], selection=[built, failing], raise_on_error=False,
        resources={"dbt": DbtResource(), "lakehouse": LakehouseResource(home=str(home.root))})
    assert dict(os.environ) == environment
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "silver/suppliers" in str(failure.event_specific_data.error)
    materialized = {e.asset_key: e.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    assert set(materialized) == {built}
    assert materialized[built]["dagster/row_count"].value > 365
    assert materialized[built]["relation"].value == "main.dim_dates"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()) and all("dim_dates" in name for name in checks)
