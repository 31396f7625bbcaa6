"""Landing files of the simulator against the channel contract (spec.py) and the fault truth,
and the pure formatting helpers of delivery against the standard library they replace."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from lakehouse.channels import CHANNELS, NESTED, Entity, entity, entity_for_file
from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate
from lakehouse.simulate.delivery import csv_line, dumps
from lakehouse.simulate.faults import FAULT_KINDS, FAULT_SPECS

TINY = SimConfig(persons=120, products=25, stores=2, warehouses=1, days=6, seed=3,
                 late_rate=0.05, duplicate_rate=0.05, malformed_rate=0.05)
NAME_RE = re.compile(r"^(?P<entity>[a-z_]+)_(?P<date>\d{8})(_\d{6})?_\d{3}\.(jsonl|csv|json)$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
EPOCH_MS_RANGE = (946684800000, 4102444800000)  # 2000..2100


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def landing_files(home: Home) -> list[tuple[str, Path]]:
    return [(p.parent.name, p) for p in sorted(home.landing.rglob("*")) if p.is_file()]


def fault_lines(home: Home) -> dict[tuple[str, str], set[int]]:
    out: dict[tuple[str, str], set[int]] = {}
    for r in pl.read_parquet(home.truth / "faults.parquet").iter_rows(named=True):
        out.setdefault((r["channel"], r["file"]), set()).add(r["line"])
    return out


def parses(kind: str, v: object, csv_text: bool) -> bool:
    """Does value ``v`` parse as spec type ``kind``? (CSV values are text.)"""
    try:
        if kind == "str":
            return isinstance(v, str)
        if kind == "int":
            if csv_text:
                int(str(v))
                return True
            return isinstance(v, int) and not isinstance(v, bool)
        if kind == "float":
            if csv_text:
                float(str(v))
                return True
            return isinstance(v, int | float) and not isinstance(v, bool)
        if kind == "bool":
            return v in ("true", "false") if csv_text else isinstance(v, bool)
        if kind == "ts_iso":
            return bool(ISO_RE.match(str(v))) and dt.datetime.fromisoformat(
                str(v).replace("Z", "+00:00")).tzinfo is not None
        if kind == "ts_local":
            dt.datetime.strptime(str(v), "%Y-%m-%d %H:%M:%S")
            return True
        if kind == "date":
            dt.date.fromisoformat(str(v))
            return True
        if kind in ("epoch_ms", "epoch_s"):
            n = int(v) if csv_text else v
            if not isinstance(n, int) or isinstance(n, bool):
                return False
            lo, hi = EPOCH_MS_RANGE
            if kind == "epoch_s":
                lo, hi = lo // 1000, hi // 1000
            return lo <= n <= hi
        if kind == "object":
            return isinstance(v, dict)
        if kind == "array":
            return isinstance(v, list)
    except (ValueError, TypeError):
        return False
    raise AssertionError(f"unknown spec type {kind}")


def check_json_record(ent: Entity, rec: dict, where: str) -> None:
    allowed = {f.name: f for f in ent.all_fields}
    extra = set(rec) - set(allowed)
    assert not extra, f"{where}: fields outside the spec: {extra}"
    for name in ent.required:
        assert name in rec and rec[name] not in (None, ""), f"{where}: missing {name}"
    for name, v in rec.items():
        f = allowed[name]
        if v is None:
            continue
        assert parses(f.type, v, False), f"{where}: {name}={v!r} is not {f.type}"
        if f.nested:
            sub = entity(ent.channel, f.nested)
            for item in (v if f.type == "array" else [v]):
                check_json_record(sub, item, f"{where}.{name}")
        elif name == "discount_codes":
            assert all(isinstance(c, str) for c in v)


def check_csv_row(ent: Entity, row: dict[str, str], where: str) -> None:
    for name in ent.required:
        assert row[name] != "", f"{where}: missing {name}"
    for f in ent.fields:
        v = row[f.name]
        if v != "":
            assert parses(f.type, v, True), f"{where}: {f.name}={v!r} is not {f.type}"


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b, c = (Home.resolve(tmp_path / n) for n in "abc")
    simulate(a, TINY)
    simulate(b, TINY)
    simulate(c, SimConfig(**{**TINY.__dict__, "seed": 4}))
    da, db, dc = digest(a.root), digest(b.root), digest(c.root)
    assert len(da) > 50
    assert da == db
    assert {k: v for k, v in da.items() if k.startswith("landing/web")} != {
        k: v for k, v in dc.items() if k.startswith("landing/web")}


def test_rerun_replaces_previous_output(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path)
    simulate(home, SimConfig(**{**TINY.__dict__, "days": 8}))
    simulate(home, TINY)
    fresh = Home.resolve(tmp_path / "fresh")
    simulate(fresh, TINY)
    assert {k: v for k, v in digest(home.root).items() if not k.startswith("fresh")} == digest(
        fresh.root)


def test_every_channel_lands_with_spec_file_names(sim_home: Home) -> None:
    files = landing_files(sim_home)
    seen = set()
    for channel, path in files:
        ent = entity_for_file(channel, path.name)
        m = NAME_RE.match(path.name)
        assert m and m["entity"] == ent.name, path.name
        seen.add((channel, ent.name))
    expected = {(ch.name, e.name) for ch in CHANNELS for e in ch.entities
                if (ch.name, e.name) not in NESTED}
    assert seen == expected


def test_every_intact_line_matches_the_channel_schema(sim_home: Home) -> None:
    faults = fault_lines(sim_home)
    checked = Counter()
    for channel, path in landing_files(sim_home):
        ent = entity_for_file(channel, path.name)
        bad = faults.get((channel, path.name), set())
        if ent.format == "json":
            doc = json.loads(path.read_bytes())
            key = {"catalog": "products", "locations": "locations"}[channel]
            for i, rec in enumerate(doc[key]):
                check_json_record(ent, rec, f"{path.name}[{i}]")
            if channel == "locations":
                for i, rec in enumerate(doc["rates"]):
                    check_json_record(entity("locations", "shipping_rates"), rec,
                                      f"{path.name}.rates[{i}]")
            checked[channel] += 1
            continue
        raw_lines = path.read_bytes().split(b"\n")
        assert raw_lines[-1] == b"", f"{path.name}: must end with a newline"
        raw_lines = raw_lines[:-1]
        if ent.format == "jsonl":
            for no, raw in enumerate(raw_lines, start=1):
                if no in bad:
                    continue
                check_json_record(ent, json.loads(raw.decode()), f"{path.name}:{no}")
                checked[channel] += 1
        else:
            assert raw_lines[0].decode() == ",".join(ent.columns), path.name
            for no, raw in enumerate(raw_lines[1:], start=2):
                if no in bad:
                    continue
                row = next(csv.reader(io.StringIO(raw.decode())))
                assert len(row) == len(ent.columns), f"{path.name}:{no}: {row}"
                check_csv_row(ent, dict(zip(ent.columns, row, strict=True)), f"{path.name}:{no}")
                checked[channel] += 1
    assert set(checked) == {ch.name for ch in CHANNELS}
    assert checked["web"] > 500


def _get(rec: dict, path: str) -> object:
    cur: object = rec
    for part in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(path)
    return cur


def test_every_fault_is_where_the_truth_says(sim_home: Home) -> None:
    faults = pl.read_parquet(sim_home.truth / "faults.parquet")
    assert set(faults["kind"]) == set(FAULT_KINDS)
    catalog = json.loads(next((sim_home.landing / "catalog").glob("*.json")).read_bytes())
    codes = {c for p in catalog["products"]
             for c in (p["web_variant_id"], p["pos_sku"], p["wms_item_code"])}
    cache: dict[Path, list[bytes]] = {}
    for r in faults.iter_rows(named=True):
        path = sim_home.landing / r["channel"] / r["file"]
        lines = cache.setdefault(path, path.read_bytes().split(b"\n"))
        raw = lines[r["line"] - 1]
        ent = entity(r["channel"], r["entity"])
        spec = FAULT_SPECS[(r["channel"], r["entity"])]
        kind, fld = r["kind"], r["field"]
        where = f"{r['file']}:{r['line']} {kind}"
        # the intact record travels in the same file
        key = r["record_key"].split("#")[0].encode()  # POS keys are transaction#line
        intact = [i + 1 for i, ln in enumerate(lines) if key in ln and i + 1 != r["line"]]
        assert intact, f"{where}: no intact copy of {r['record_key']}"
        if kind == "encoding_error":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            continue
        text = raw.decode("utf-8")
        if kind == "broken_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            continue
        if ent.format == "jsonl":
            rec = json.loads(text)
            if kind == "missing_required":
                with pytest.raises(KeyError):
                    _get(rec, fld)
                continue
            v = _get(rec, fld)
        else:
            row = dict(zip(ent.columns, next(csv.reader(io.StringIO(text))), strict=True))
            v = row[fld]
            if kind == "missing_required":
                assert v == "", where
                continue
        ftype = spec.time_type
        if kind == "wrong_type":
            assert v == "n/a", where
        elif kind == "negative_quantity":
            assert int(v) < 0, where
        elif kind == "unknown_product":
            assert v not in codes, where
        elif kind == "bad_timestamp":
            assert not parses(ftype, v, ent.format == "csv") or int(str(v)) < 0, where
        elif kind == "future_timestamp":
            arrived = dt.datetime.strptime(NAME_RE.match(r["file"])["date"], "%Y%m%d")
            if ftype in ("epoch_ms", "epoch_s"):
                when = dt.datetime.fromtimestamp(int(v) / (1000 if ftype == "epoch_ms" else 1),
                                                 dt.UTC).replace(tzinfo=None)
            elif ftype == "ts_local":
                when = dt.datetime.strptime(str(v), "%Y-%m-%d %H:%M:%S")
            elif ftype == "date":
                when = dt.datetime.fromisoformat(str(v))
            else:
                when = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).replace(
                    tzinfo=None)
            assert when > arrived + dt.timedelta(days=300), where


def test_fault_duplicate_and_late_rates_match_knobs(sim_home: Home) -> None:
    rec = pl.read_parquet(sim_home.truth / "records.parquet")
    faulted = rec.filter(~pl.col("channel").is_in(["catalog", "locations", "suppliers",
                                                     "promotions"])
                         | (pl.col("entity") == "purchase_orders"))
    rows, n_fault, n_late, n_dup = (int(faulted[c].sum()) for c in
                                    ("rows", "faults", "late", "duplicates"))
    originals = rows - n_fault - n_dup
    assert originals > 5000
    # knobs: late 0.08, duplicate 0.04, malformed 0.04. Records still in flight when the run
    # ends (late or re-sent past the last day) are not written: that trims the late share by
    # up to ~2/14 and the duplicate share by up to ~1.5/14 in a 14-day run.
    assert 0.06 <= n_late / originals <= 0.09
    assert 0.03 <= n_dup / originals <= 0.046
    assert 0.034 <= n_fault / originals <= 0.046
    deliveries = pl.read_parquet(sim_home.truth / "deliveries.parquet")
    late = deliveries.filter(pl.col("kind") == "late")
    assert late.height == n_late
    # a late line lands in a file of a later day than its event
    file_day = late["file"].str.extract(r"_(\d{8})_").str.to_date("%Y%m%d")
    assert (file_day > late["event_time"].dt.date()).all()


def test_duplicates_in_files_are_the_announced_ones(sim_home: Home) -> None:
    faults = fault_lines(sim_home)
    ids: Counter[str] = Counter()
    for path in sorted((sim_home.landing / "web").glob("*.jsonl")):
        for no, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
            if no not in faults.get(("web", path.name), set()):
                ids[json.loads(raw)["event_id"]] += 1
    repeated = {k for k, n in ids.items() if n > 1}
    dups = pl.read_parquet(sim_home.truth / "deliveries.parquet").filter(
        (pl.col("kind") == "duplicate") & (pl.col("channel") == "web"))
    assert repeated == set(dups["record_key"])
    assert len(repeated) > 20


def test_zero_knobs_give_clean_delivery_and_the_same_world(tmp_path: Path) -> None:
    faulty, clean = Home.resolve(tmp_path / "f"), Home.resolve(tmp_path / "c")
    simulate(faulty, TINY)
    simulate(clean, SimConfig(**{**TINY.__dict__, "late_rate": 0.0, "duplicate_rate": 0.0,
                                 "malformed_rate": 0.0}))
    assert pl.read_parquet(clean.truth / "faults.parquet").height == 0
    assert pl.read_parquet(clean.truth / "deliveries.parquet").height == 0
    for table in ("orders", "stock_daily", "touchpoints", "persons"):
        assert pl.read_parquet(faulty.truth / f"{table}.parquet").equals(
            pl.read_parquet(clean.truth / f"{table}.parquet")), table
    for channel, path in landing_files(clean):
        data = path.read_bytes()
        data.decode("utf-8")
        if path.suffix == ".jsonl":
            keys = [json.loads(x)[entity_for_file(channel, path.name).key]
                    for x in data.split(b"\n")[:-1]]
            if channel != "orders":  # a cancelled order re-appears, by design
                assert len(keys) == len(set(keys)), path.name


def test_schema_change_and_clock_skew_follow_their_knobs(sim_home: Home, tmp_path: Path) -> None:
    change = dt.date(2026, 1, 1) + dt.timedelta(days=7)
    before = after = 0
    for path in (sim_home.landing / "web").glob("*.jsonl"):
        for raw in path.read_bytes().split(b"\n")[:-1]:
            try:
                e = json.loads(raw)
                day = dt.datetime.fromisoformat(e["ts"]).date()
            except (ValueError, KeyError, UnicodeDecodeError):
                continue  # a malformed copy
            if "consent" in e:
                after += 1
                assert day >= change - dt.timedelta(days=1)  # local day vs UTC day
            elif day < change:
                before += 1
    assert before > 100 and after > 100
    ahead = 0
    for path in (sim_home.landing / "app").glob("*.jsonl"):
        for raw in path.read_bytes().split(b"\n")[:-1]:
            try:
                e = json.loads(raw)
                ahead += int(e["eventTimestamp"]) > int(e["receivedTimestamp"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue
    assert ahead > 20  # skewed device clocks run ahead of the collector
    clean = Home.resolve(tmp_path)
    simulate(clean, SimConfig(**{**TINY.__dict__, "clock_skew_share": 0.0,
                                 "schema_change_day": None, "malformed_rate": 0.0}))
    for path in (clean.landing / "app").glob("*.jsonl"):
        for raw in path.read_bytes().split(b"\n")[:-1]:
            e = json.loads(raw)
            assert "pushOptIn" not in e
            assert e["eventTimestamp"] <= e["receivedTimestamp"]


@pytest.mark.parametrize("cfg", [
    SimConfig(persons=1, products=1, stores=1, warehouses=1, days=2, seed=3),
    SimConfig(persons=5, products=2, stores=20, warehouses=6, days=2, seed=4),
])
def test_extreme_sizes_still_write_a_consistent_home(tmp_path: Path, cfg: SimConfig) -> None:
    home = Home.resolve(tmp_path)
    summary = simulate(home, cfg)
    assert summary.events == sum(summary.rows.values()) > 0
    assert {"catalog", "locations", "suppliers", "promotions"} <= set(summary.rows)
    stock = pl.read_parquet(home.truth / "stock_daily.parquet")
    assert stock.height == cfg.products * (cfg.stores + cfg.warehouses) * cfg.days
    assert stock["on_hand"].min() >= 0


def test_invalid_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="late_rate"):
        SimConfig(late_rate=1.5)
    with pytest.raises(ValueError, match="persons"):
        SimConfig(persons=0)


def test_dumps_is_byte_identical_to_json() -> None:
    cases = [
        {"a": "x", "b": 1, "c": True, "d": False, "e": -7},
        {"q": 'say "hi"'}, {"p": "back\\slash"}, {"n": "café"}, {"t": "tab\there"},
        {"f": 1.5}, {"l": [1, "x"]}, {"o": {"k": "v"}}, {"z": None}, {'k"ey': "v"}, {},
        {"u": "\u2063mark\u2063"},
    ]
    for obj in cases:
        assert dumps(obj) == json.dumps(obj, separators=(",", ":")), obj


def test_csv_line_round_trips_through_the_csv_module() -> None:
    rows = [["a", 1, None, "b"], ["with, comma", 'with "quote"', "", 2.5],
            ["multi\nline", "x"], ["O'Brien", "123 Main St, Apt 4"]]
    for row in rows:
        back = next(csv.reader(io.StringIO(csv_line(row))))
        assert back == ["" if v is None else str(v) for v in row]
