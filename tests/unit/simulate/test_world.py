"""The simulated world behaves like retail, and the truth agrees with the landing files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate


def intact_json(home: Home, channel: str, pattern: str = "*.jsonl") -> list[dict]:
    """Every parseable record of a channel (malformed copies skipped)."""
    faults = pl.read_parquet(home.truth / "faults.parquet").filter(pl.col("channel") == channel)
    bad = set(zip(faults["file"], faults["line"], strict=True))
    out = []
    for path in sorted((home.landing / channel).glob(pattern)):
        for no, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
            if (path.name, no) not in bad:
                out.append(json.loads(raw))
    return out


def intact_csv(home: Home, channel: str, pattern: str) -> list[dict]:
    faults = pl.read_parquet(home.truth / "faults.parquet").filter(pl.col("channel") == channel)
    bad = set(zip(faults["file"], faults["line"], strict=True))
    out = []
    for path in sorted((home.landing / channel).glob(pattern)):
        lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")[:-1]
        header = lines[0].split(",")
        for no, line in enumerate(lines[1:], start=2):
            if (path.name, no) not in bad:
                out.append(dict(zip(header, next(csv.reader(io.StringIO(line))), strict=True)))
    return out


def catalog(home: Home) -> list[dict]:
    return json.loads(next((home.landing / "catalog").glob("*.json")).read_bytes())["products"]


def test_duplicate_customer_records_match_the_knob(sim_home: Home, tmp_path: Path) -> None:
    def share(home: Home) -> float:
        ident = pl.read_parquet(home.truth / "identity.parquet").filter(
            pl.col("source").is_in(["shop_customer", "loyalty"]))
        assert ident.height > 150
        return 1 - ident["person_id"].n_unique() / ident.height

    assert abs(share(sim_home) - 0.40) < 0.05
    low = Home.resolve(tmp_path)
    simulate(low, SimConfig(persons=600, products=30, days=14, seed=5, duplicate_share=0.1))
    assert abs(share(low) - 0.10) < 0.05


def test_identity_truth_covers_every_record_id_in_the_files(sim_home: Home) -> None:
    ident = pl.read_parquet(sim_home.truth / "identity.parquet")
    assert ident.select(pl.struct("source", "record_id").is_unique().all()).item()
    truth = defaultdict(set)
    for s, r in zip(ident["source"], ident["record_id"], strict=True):
        truth[s].add(r)
    found = defaultdict(set)
    for e in intact_json(sim_home, "web"):
        found["web"].add(e["cookie_id"])
    for e in intact_json(sim_home, "app"):
        found["app"].add(e["deviceId"])
    for o in intact_json(sim_home, "orders"):
        if "customer" in o:
            found["shop_customer"].add(o["customer"]["id"])
        else:
            found["shop_guest"].add(o["id"])
    for m in intact_csv(sim_home, "loyalty", "*.csv"):
        found["loyalty"].add(m["member_id"])
    for t in intact_csv(sim_home, "pos", "*.csv"):
        if t["loyalty_card"] or t["card_token"]:
            found["pos"].add(t["transaction_id"])
    for e in intact_json(sim_home, "email"):
        found["email"].add(e["email"])
    for r in intact_json(sim_home, "reviews"):
        found["reviews"].add(r["review_id"])
    for source, ids in found.items():
        assert ids, source
        assert ids <= truth[source], f"{source}: ids without truth {list(ids - truth[source])[:3]}"
    # households share devices: some web/app records are flagged shared
    shared = ident.filter(pl.col("shared"))
    assert {"web", "app"} <= set(shared["source"])


def test_contact_details_arrive_in_many_formats(sim_home: Home) -> None:
    phones = [m["phone"] for m in intact_csv(sim_home, "loyalty", "*.csv") if m["phone"]]
    phones += [o["phone"] for o in intact_json(sim_home, "orders") if "phone" in o]
    shapes = {re.sub(r"\d", "9", p) for p in phones}
    assert {"(999) 999-9999", "999.999.9999", "+9 999 999 9999"} <= shapes
    emails = [m["email"] for m in intact_csv(sim_home, "loyalty", "*.csv") if m["email"]]
    emails += [o["email"] for o in intact_json(sim_home, "orders")]
    assert any("+" in e.split("@")[0] for e in emails)
    assert any(e != e.lower() for e in emails)
    persons = pl.read_parquet(sim_home.truth / "persons.parquet")
    assert persons["household_id"].n_unique() < persons.height  # multi-person households


def test_true_stock_is_never_negative_and_complete(stats_home: Home) -> None:
    stock = pl.read_parquet(stats_home.truth / "stock_daily.parquet")
    assert stock["on_hand"].min() >= 0
    assert stock["reserved"].min() >= 0
    assert (stock["reserved"] <= stock["on_hand"]).all()
    locs = json.loads(next((stats_home.landing / "locations").glob("*.json")).read_bytes())
    codes = {loc["location_code"] for loc in locs["locations"]}
    products = {p["product_id"] for p in catalog(stats_home)}
    assert set(stock["location_id"]) == codes
    assert set(stock["product_id"]) == products
    assert stock.height == len(codes) * len(products) * 28


def test_every_product_code_in_the_files_is_in_the_catalog(stats_home: Home) -> None:
    cat = catalog(stats_home)
    variants = {p["web_variant_id"] for p in cat}
    skus = {p["pos_sku"] for p in cat}
    wms_codes = {p["wms_item_code"] for p in cat}
    lines = [li for o in intact_json(stats_home, "orders") for li in o["line_items"]]
    assert lines and all(li["variant_id"] in variants for li in lines)
    pos = intact_csv(stats_home, "pos", "*.csv")
    assert pos and all(r["pos_sku"] in skus for r in pos)
    moves = intact_csv(stats_home, "wms", "*.csv")
    assert moves and all(r["item_code"] in wms_codes for r in moves)
    rets = intact_csv(stats_home, "returns", "*.csv")
    assert rets and all(r["variant_id"] in variants for r in rets)


def test_stock_moves_only_by_recorded_movements_sales_and_shrinkage(stats_home: Home) -> None:
    """Day-over-day on-hand change = WMS net movements - till sales (stores, no WMS row) -
    unrecorded shrinkage, and a cycle count shows the true on-hand of the night before."""
    cat = catalog(stats_home)
    code_to_pid = {p["wms_item_code"]: p["product_id"] for p in cat}
    sku_to_pid = {p["pos_sku"]: p["product_id"] for p in cat}
    stock = pl.read_parquet(stats_home.truth / "stock_daily.parquet")
    on = {(r["product_id"], r["location_id"], r["date"]): r["on_hand"]
          for r in stock.iter_rows(named=True)}
    net: dict[tuple, int] = defaultdict(int)
    counts = []
    seen = set()
    sign = {"RECEIPT": 1, "TRANSFER_IN": 1, "RETURN_RESTOCK": 1, "ADJUSTMENT": 1, "PICK": -1,
            "TRANSFER_OUT": -1}
    for m in intact_csv(stats_home, "wms", "*.csv"):
        if m["movement_id"] in seen:
            continue
        seen.add(m["movement_id"])
        day = dt.datetime.fromisoformat(m["event_time"]).date()
        key = (code_to_pid[m["item_code"]], m["site_code"], day)
        if m["movement_type"] == "CYCLE_COUNT":
            if m["reference"] != "OPENING":
                counts.append((key, int(m["counted_qty"])))
        else:
            net[key] += sign[m["movement_type"]] * int(m["qty"])
    # till sales take store stock on the store's local business day
    for t in intact_csv(stats_home, "pos", "*.csv"):
        if (t["transaction_id"], t["line_no"]) in seen:
            continue
        seen.add((t["transaction_id"], t["line_no"]))
        day = dt.date.fromisoformat(t["txn_time"][:10])
        net[(sku_to_pid[t["pos_sku"]], t["store_code"], day)] -= int(t["qty"])
    start = dt.date(2026, 1, 1)
    # movements of the last days may still be in flight (late / not yet arrived)
    settled = start + dt.timedelta(days=28 - 5)
    exact = total = 0
    for (pid, loc, day), qty in on.items():
        if day == start or day >= settled:
            continue
        delta = qty - on[(pid, loc, day - dt.timedelta(days=1))]
        recorded = net.get((pid, loc, day), 0)
        assert delta <= recorded, (pid, loc, day, delta, recorded)  # shrinkage only removes
        exact += delta == recorded
        total += 1
    assert exact / total > 0.9  # the rest: unrecorded shrinkage
    assert total > 28 * 40
    assert len(counts) > 50
    for (pid, loc, day), counted in counts:
        if day == start or day >= settled:
            continue
        assert counted == on[(pid, loc, day - dt.timedelta(days=1))]


def test_stock_outs_censor_sales(stats_home: Home) -> None:
    demand = pl.read_parquet(stats_home.truth / "demand_daily.parquet")
    assert (demand["lost"] == demand["demanded"] - demand["sold"]).all()
    assert demand["lost"].min() >= 0
    assert 0 < demand["lost"].sum() < 0.25 * demand["demanded"].sum()
    stock = pl.read_parquet(stats_home.truth / "stock_daily.parquet")
    lost_in_store = demand.filter((pl.col("lost") > 0) & pl.col("location_id").str.starts_with(
        "ST")).join(stock, on=["product_id", "location_id", "date"])
    assert lost_in_store.height > 0
    # a store only turns a shopper away when the shelf is (nearly) empty
    assert lost_in_store["on_hand"].max() <= 2


def test_weekends_are_busier_in_store(stats_home: Home) -> None:
    orders = pl.read_parquet(stats_home.truth / "orders.parquet").filter(
        pl.col("channel") == "store")
    per_day = orders.group_by(pl.col("created_at").dt.date().alias("d")).len()
    per_day = per_day.with_columns(weekend=pl.col("d").dt.weekday() >= 6)
    mean = {w: per_day.filter(pl.col("weekend") == w)["len"].mean() for w in (True, False)}
    assert mean[True] > 1.3 * mean[False]


def test_categories_peak_in_their_season(tmp_path: Path) -> None:
    def share(start: dt.date, category: str) -> float:
        home = Home.resolve(tmp_path / start.isoformat())
        simulate(home, SimConfig(persons=800, products=50, days=10, start=start, seed=9))
        cats = {p["product_id"]: p["category"] for p in catalog(home)}
        d = pl.read_parquet(home.truth / "demand_daily.parquet").with_columns(
            cat=pl.col("product_id").replace_strict(cats))
        return d.filter(pl.col("cat") == category)["demanded"].sum() / d["demanded"].sum()

    assert share(dt.date(2026, 12, 1), "toys") > 1.8 * share(dt.date(2026, 6, 1), "toys")
    assert share(dt.date(2026, 6, 1), "outdoor") > 1.5 * share(dt.date(2026, 12, 1), "outdoor")


def test_promotions_lift_demand_of_their_category(stats_home: Home) -> None:
    cats = {p["product_id"]: p["category"] for p in catalog(stats_home)}
    promos = intact_csv(stats_home, "promotions", "*.csv")
    demand = pl.read_parquet(stats_home.truth / "demand_daily.parquet").filter(
        pl.col("location_id").str.starts_with("ST")).with_columns(
        cat=pl.col("product_id").replace_strict(cats))
    days = sorted(set(demand["date"]))
    on_share, off_share = [], []
    for p in promos:
        if not p["category"] or "store" not in p["channels"]:
            continue
        lo, hi = dt.date.fromisoformat(p["start_date"]), dt.date.fromisoformat(p["end_date"])
        during = demand.filter(pl.col("date").is_between(lo, hi))
        outside = demand.filter(~pl.col("date").is_between(lo, hi))
        if during.height == 0 or lo < days[0] or hi > days[-1]:
            continue
        on_share.append(during.filter(pl.col("cat") == p["category"])["demanded"].sum()
                        / during["demanded"].sum())
        off_share.append(outside.filter(pl.col("cat") == p["category"])["demanded"].sum()
                         / outside["demanded"].sum())
    assert on_share
    assert sum(on_share) > 1.3 * sum(off_share)


def test_ad_clicks_raise_purchase_probability(stats_home: Home) -> None:
    sessions: dict[str, dict] = {}
    for e in intact_json(stats_home, "web"):
        s = sessions.setdefault(e["session_id"], {"ad": False, "buy": False, "campaign": False})
        s["ad"] |= "gclid" in e
        s["campaign"] |= "utm_campaign" in e
        s["buy"] |= e["event_type"] == "purchase"
    ad = [s["buy"] for s in sessions.values() if s["ad"]]
    plain = [s["buy"] for s in sessions.values() if not s["campaign"]]
    assert len(ad) > 200
    assert sum(ad) / len(ad) > 1.5 * sum(plain) / len(plain)
    clicks = {c["click_id"] for c in intact_json(stats_home, "ads", "clicks_*.jsonl")}
    settled = dt.date(2026, 1, 1) + dt.timedelta(days=28 - 5)  # later clicks may be in flight
    gclids = {e["gclid"] for e in intact_json(stats_home, "web")
              if "gclid" in e and dt.datetime.fromisoformat(e["ts"]).date() < settled}
    assert gclids <= clicks and len(gclids) > 0.7 * len(clicks)
    effects = pl.read_parquet(stats_home.truth / "channel_effects.parquet")
    assert dict(zip(effects["channel"], effects["effect"], strict=True))["ads"] == 1.5
    tp = pl.read_parquet(stats_home.truth / "touchpoints.parquet")
    orders = pl.read_parquet(stats_home.truth / "orders.parquet")
    assert set(tp["order_id"]) <= set(orders["order_id"])
    assert (tp["touch_time"] <= tp["order_time"]).all()
    assert set(tp["channel"]) == {"ads", "email", "organic", "direct"}


def test_returns_and_reviews_follow_product_quality(stats_home: Home) -> None:
    prods = pl.read_parquet(stats_home.truth / "products.parquet")
    var_to_pid = {p["web_variant_id"]: p["product_id"] for p in catalog(stats_home)}
    quality = dict(zip(prods["product_id"], prods["quality"], strict=True))
    reviews = intact_json(stats_home, "reviews")
    assert len(reviews) > 40
    good = [r["rating"] for r in reviews if quality[var_to_pid[r["variant_id"]]] > 0.8]
    poor = [r["rating"] for r in reviews if quality[var_to_pid[r["variant_id"]]] < 0.65]
    assert good and poor and sum(good) / len(good) > sum(poor) / len(poor) + 0.5
    positive = re.compile(r"love|excellent|great|good|perfect|recommend|solid|nice", re.I)
    negative = re.compile(r"broke|poor|cheap|awful|damaged|flimsy|not work|rough", re.I)
    for r in reviews:
        body = r["body"]
        if r["rating"] >= 4:
            assert positive.search(body) and not negative.search(body), body
        if r["rating"] <= 2:
            assert negative.search(body) and not positive.search(body), body
    rets = intact_csv(stats_home, "returns", "*.csv")
    reasons = {r["reason"] for r in rets}
    assert reasons <= {"damaged", "defective", "wrong_size", "not_as_described", "changed_mind"}
    ret_q = [quality[var_to_pid[r["variant_id"]]] for r in rets]
    assert sum(ret_q) / len(ret_q) < prods["quality"].mean()  # poor products come back


def test_purchase_orders_have_promised_and_actual_dates(stats_home: Home) -> None:
    events = intact_json(stats_home, "suppliers", "purchase_orders_*.jsonl")
    created = {e["po_number"]: e for e in events if e["event"] == "created"}
    delivered = [e for e in events if e["event"] == "delivered"]
    assert created and delivered
    late = early = 0
    for e in delivered:
        actual = dt.datetime.fromisoformat(e["event_time"]).date()
        promised = dt.date.fromisoformat(e["promised_date"])
        late += actual > promised
        early += actual <= promised
        if e["po_number"] in created:
            assert created[e["po_number"]]["qty"] == e["qty"]
    assert late > 0 and early > 0


def test_shipments_report_pickup_then_delivery_within_capacity(stats_home: Home) -> None:
    rows = intact_csv(stats_home, "shipments", "*.csv")
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_id[r["shipment_id"]].append(r)
    delivered = pickup_first = 0
    for reports in by_id.values():
        pickup_first += reports[0]["delivered_at"] == ""  # unless the pick-up report was late
        done = [r for r in reports if r["delivered_at"]]
        if done:
            delivered += 1
            shipped = dt.datetime.fromisoformat(done[0]["shipped_at"])
            assert dt.datetime.fromisoformat(done[0]["delivered_at"]) > shipped
    assert delivered > 0.7 * len(by_id)
    assert pickup_first > 0.9 * len(by_id)
    locs = json.loads(next((stats_home.landing / "locations").glob("*.json")).read_bytes())
    cap = {loc["location_code"]: loc["ship_capacity_per_day"] for loc in locs["locations"]}
    per_day: dict[tuple, set] = defaultdict(set)
    for r in rows:
        per_day[(r["from_site"], r["shipped_at"][:10])].add(r["shipment_id"])
    assert all(len(ids) <= cap[site] for (site, _), ids in per_day.items())


def test_people_shop_across_channels_with_many_fragments(sim_home: Home) -> None:
    ident = pl.read_parquet(sim_home.truth / "identity.parquet")
    per_person = ident.group_by("person_id").agg(
        pl.col("source").n_unique().alias("sources"), pl.len().alias("records"))
    assert per_person.filter(pl.col("sources") >= 4).height > 50
    # cookie resets and second browsers: people carry several cookies
    cookies = ident.filter(pl.col("source") == "web").group_by("person_id").len()
    assert cookies.filter(pl.col("len") >= 2).height > 20


def test_a_sale_can_land_before_the_receipt_that_stocked_it(tmp_path: Path) -> None:
    """A late TRANSFER_IN at a store arrives after till exports of sales made from it."""
    from zoneinfo import ZoneInfo

    sim_home = Home.resolve(tmp_path)
    simulate(sim_home, SimConfig(persons=800, products=15, stores=2, warehouses=1, days=20,
                                 seed=13, late_rate=0.3))

    code_to_sku = {p["wms_item_code"]: p["pos_sku"] for p in catalog(sim_home)}
    locs = json.loads(next((sim_home.landing / "locations").glob("*.json")).read_bytes())
    tz = {loc["location_code"]: ZoneInfo(loc["timezone"]) for loc in locs["locations"]}
    late = pl.read_parquet(sim_home.truth / "deliveries.parquet").filter(
        (pl.col("channel") == "wms") & (pl.col("kind") == "late"))
    receipts = []
    for r in late.iter_rows(named=True):
        line = (sim_home.landing / "wms" / r["file"]).read_text().split("\n")[r["line"] - 1]
        row = next(csv.reader(io.StringIO(line)))
        if row[4] == "TRANSFER_IN":
            receipts.append((row[2], code_to_sku[row[3]], dt.datetime.fromisoformat(row[8]),
                             r["file"]))
    assert receipts
    sales = []
    for path in sorted((sim_home.landing / "pos").glob("*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text(errors="replace"))):
            sales.append((row["store_code"], row["pos_sku"], row["txn_time"], path.name))
    found = 0
    for store, sku, when, receipt_file in receipts:
        for s_store, s_sku, s_time, sale_file in sales:
            if (s_store, s_sku) != (store, sku) or not s_time[:4].isdigit():
                continue
            try:
                sold_at = dt.datetime.fromisoformat(s_time).replace(tzinfo=tz[store])
            except ValueError:
                continue
            if sold_at > when and sale_file[-16:-8] < receipt_file[-16:-8]:
                found += 1
    assert found > 0
