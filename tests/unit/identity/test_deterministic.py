"""Identity resolution over identifier observations: back-in-time stitching of anonymous
activity, shared devices that must not chain people, every value a record was seen with (not
only its latest), order ids, names that agree through nicknames, and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.identity import resolve, resolve_full
from lakehouse.identity.store import erase
from lakehouse.silver import identity_inputs as ii
from lakehouse.storage.delta import read_table
from lakehouse.storage.paths import table_uri
from tests.gated import resolve_home

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None)


def _obs(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["source", "record_id", "identifier_type", "value"],
                        orient="row")


def _pid(out: pl.DataFrame, rid: str) -> str:
    return out.filter(pl.col("record_id") == rid)["person_id"].item()


def _by(out: pl.DataFrame, rid: str) -> str:
    return out.filter(pl.col("record_id") == rid)["matched_by"].item()


def _events(rows: list[tuple[str, str, int, str | None, str | None]],
            campaign: str | None = None) -> pl.DataFrame:
    """Silver clickstream rows: (channel, anonymous id, second, login id, order id); with
    ``campaign``, page views land from that newsletter."""
    n = len(rows)
    data = {
        "channel": [r[0] for r in rows], "anonymous_id": [r[1] for r in rows],
        "event_time": [T0 + timedelta(seconds=r[2]) for r in rows],
        "login_id": [r[3] for r in rows], "order_id": [r[4] for r in rows],
        "event_type": ["login" if r[3] else "purchase" if r[4] else "page_view" for r in rows],
        "utm_source": ["newsletter" if campaign else None] * n, "utm_campaign": [campaign] * n,
        "_source_file": ["f"] * n, "_line": list(range(1, n + 1)), "_batch_id": ["b"] * n,
        "_ingested_at": [T0] * n,
    }
    return pl.DataFrame(data, schema_overrides={"utm_source": pl.String,
                                                "utm_campaign": pl.String})


def _account(cid: str, first: str, last: str, email: str) -> dict:
    return {"record_id": cid, "source": "shop_customer", "first_name": first,
            "last_name": last, "email": email, "login_id": cid}


def test_cookie_browsing_before_its_first_login_joins_the_person_back_in_time() -> None:
    # weeks of anonymous page views, then one login: the silver inputs keep the login on the
    # cookie's record, and the whole cookie (its earlier activity too) resolves to the person
    obs = ii.from_clickstream(_events(
        [("web", "ck-1", m * 60, None, None) for m in range(0, 600, 60)]
        + [("web", "ck-1", 900 * 60, "7001", None), ("web", "ck-2", 5, None, None)]))
    cookie_records = ii.customer_records(obs)
    assert cookie_records.filter(pl.col("record_id") == "ck-1")["login_id"].item() == "7001"
    records = pl.concat([cookie_records.drop("first_seen", "last_seen"),
                         _frame([_account("7001", "Ana", "Ruiz", "ana@x.com")])],
                        how="diagonal_relaxed")
    out = resolve(records, observations=obs, probabilistic=False)
    assert _pid(out, "ck-1") == _pid(out, "7001")
    assert _by(out, "ck-1") == "login_id"
    assert _by(out, "ck-2") == "none"  # a cookie that never logged in stays its own fragment


def test_app_device_that_checks_out_as_guest_joins_the_guest_and_the_account() -> None:
    # the app device never logs in; it buys once as a guest (the order carries the device as
    # browser id and the purchase event the order id); the guest uses the account's e-mail
    obs = pl.concat([
        ii.from_clickstream(_events([("app", "DEV-9", 0, None, None),
                                     ("app", "DEV-9", 1800, None, "o-55")])),
        _obs([("shop_guest", "o-55", "order_id", "o-55"),
              ("shop_guest", "o-55", "device_id", "DEV-9")]).with_columns(
            pl.lit(T0).alias("observed_at")),
    ], how="diagonal_relaxed")
    records = _frame([
        {"record_id": "DEV-9", "source": "app", "device_id": "DEV-9"},
        {"record_id": "o-55", "source": "shop_guest", "first_name": "Ben", "last_name": "Okafor",
         "email": "ben@x.com", "device_id": "DEV-9"},
        _account("7002", "Benjamin", "Okafor", "ben@x.com"),
    ])
    out = resolve(records, observations=obs.select("source", "record_id", "identifier_type",
                                                   "value"), probabilistic=False)
    assert _pid(out, "DEV-9") == _pid(out, "o-55") == _pid(out, "7002")


def test_newsletter_click_ties_the_subscriber_to_the_browser_that_landed() -> None:
    clicks = pl.DataFrame({
        "email": ["ann@x.com", "bo@y.com"], "event_type": ["click", "click"],
        "campaign_id": ["em-1", "em-1"], "event_time": [T0, T0 + timedelta(minutes=10)],
        "_source_file": ["e", "e"], "_line": [1, 2], "_batch_id": ["b", "b"],
        "_ingested_at": [T0, T0]})
    # ck-a lands 2 s after Ann's click; ck-b lands a minute after Bo's (another visit)
    landings = pl.concat([_events([("web", "ck-a", 2, None, None)], campaign="em-1"),
                          _events([("web", "ck-b", 660, None, None)], campaign="em-1")])
    obs = pl.concat([ii.from_email(clicks), ii.from_clickstream(landings)])
    records = ii.customer_records(obs).drop("first_seen", "last_seen")
    out = resolve(records, observations=obs, probabilistic=False)
    assert _pid(out, "ck-a") == _pid(out, "ann@x.com")
    assert _by(out, "ck-a") == "email_click"
    assert _pid(out, "ck-b") != _pid(out, "bo@y.com")


def test_family_tablet_never_chains_two_people() -> None:
    # two household members log into their own accounts on one tablet: the accounts stay two
    # persons, and the tablet (used about evenly) belongs to neither
    records = _frame([
        _account("a1", "Eve", "Ng", "eve@x.com"), _account("a2", "Tom", "Ng", "tom@x.com"),
        {"record_id": "tab", "source": "app", "device_id": "tab"},
    ])
    obs = _obs([("app", "tab", "login_id", "a1"), ("app", "tab", "login_id", "a2")])
    res = resolve_full(records, observations=obs, probabilistic=False)
    out = res.records
    assert _pid(out, "a1") != _pid(out, "a2")
    assert _pid(out, "tab") not in {_pid(out, "a1"), _pid(out, "a2")}
    assert res.report["deterministic"]["nameless_contested"] == 1


def test_shared_device_goes_to_the_user_who_clearly_dominates_it() -> None:
    rows = [{"record_id": f"g{k}", "source": "shop_guest", "first_name": "Tom",
             "last_name": "Ng", "email": "tom@x.com", "device_id": "tab"} for k in range(3)]
    rows += [{"record_id": "e1", "source": "shop_guest", "first_name": "Eve", "last_name": "Ng",
              "email": "eve@x.com", "device_id": "tab"},
             {"record_id": "tab", "source": "web", "device_id": "tab"}]
    out = resolve(_frame(rows), probabilistic=False)
    assert _pid(out, "tab") == _pid(out, "g0") != _pid(out, "e1")
    assert _by(out, "tab") == "device_stitch"


def test_cookie_that_logged_into_two_accounts_of_one_person_merges_them() -> None:
    # a second account under a nickname and another e-mail: no strong identifier in common,
    # but one cookie logged into both and the names agree (Bob = Robert)
    records = _frame([
        _account("a1", "Robert", "Lang", "rl@x.com"), _account("a2", "Bob", "Lang", "bl@y.com"),
        {"record_id": "ck", "source": "web", "device_id": "ck"},
    ])
    obs = _obs([("web", "ck", "login_id", "a1"), ("web", "ck", "login_id", "a2")])
    out = resolve(records, observations=obs, probabilistic=False)
    assert _pid(out, "a1") == _pid(out, "a2") == _pid(out, "ck")


def test_every_observed_value_links_not_only_the_latest() -> None:
    # the account's record columns hold its latest card; the till used the older one
    records = _frame([
        {**_account("a1", "Ida", "Berg", "ida@x.com"), "payment_fingerprint": "tok_new"},
        {"record_id": "t1", "source": "pos", "payment_fingerprint": "tok_old"},
    ])
    obs = _obs([("shop_customer", "a1", "payment_fingerprint", "tok_old"),
                ("shop_customer", "a1", "payment_fingerprint", "tok_new")])
    assert _pid(resolve(records, probabilistic=False), "t1") != _pid(
        resolve(records, probabilistic=False), "a1")
    out = resolve(records, observations=obs, probabilistic=False)
    assert _pid(out, "t1") == _pid(out, "a1")
    assert _by(out, "t1") == "payment_fingerprint"


def test_review_without_email_joins_the_order_it_reviews() -> None:
    obs = ii.from_reviews(pl.DataFrame({
        "review_id": ["RV1"], "reviewer_email": [None], "reviewer_name": ["Lena K."],
        "order_id": ["o-7"], "event_time": [T0], "_source_file": ["f"], "_line": [1],
        "_batch_id": ["b"], "_ingested_at": [T0]}, schema_overrides={"reviewer_email": pl.String}))
    assert set(obs["identifier_type"]) == {"first_name", "last_name", "order_id"}
    records = _frame([
        {"record_id": "RV1", "source": "reviews", "first_name": "Lena", "last_name": "K."},
        {"record_id": "o-7", "source": "shop_guest", "first_name": "Lena", "last_name": "Kowal",
         "email": "lena@x.com"},
        {"record_id": "o-8", "source": "shop_guest", "first_name": "Lena", "last_name": "Kowal",
         "email": "lena@x.com"},
    ])
    obs = pl.concat([obs.select("source", "record_id", "identifier_type", "value"),
                     _obs([("shop_guest", "o-7", "order_id", "o-7"),
                           ("shop_guest", "o-8", "order_id", "o-8")])])
    out = resolve(records, observations=obs, probabilistic=False)
    assert _pid(out, "RV1") == _pid(out, "o-7") == _pid(out, "o-8")
    assert _by(out, "RV1") == "order_id"


def test_kiosk_device_seen_with_many_names_links_nothing() -> None:
    firsts = ["Ann", "Ben", "Cy", "Dan", "Eva", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kai", "Lu"]
    rows = [{"record_id": f"g{k}", "source": "shop_guest", "first_name": f,
             "last_name": f"Q{k}", "email": f"{f}{k}@x.com".lower(), "device_id": "kiosk"}
            for k, f in enumerate(firsts)]
    rows += [{"record_id": f"p{k}", "source": "shop_guest", "first_name": "Al",
              "last_name": f"Z{k}", "email": f"p{k}@x.com", "device_id": f"d{k}"}
             for k in range(200)]
    rows.append({"record_id": "kiosk", "source": "web", "device_id": "kiosk"})
    res = resolve_full(_frame(rows), probabilistic=False)
    kiosk = res.records.filter(pl.col("record_id").is_in([f"g{k}" for k in range(12)]
                                                         + ["kiosk"]))
    assert kiosk["person_id"].n_unique() == 13
    assert res.report["super_nodes"] == {"device_id": 1}


def test_erasure_removes_a_person_and_keeps_them_out_of_later_runs(tmp_path) -> None:
    home = Home.resolve(tmp_path)
    records = _frame([
        _account("a1", "Ann", "Lee", "ann@x.com"),
        {"record_id": "t1", "source": "pos", "email": "ann@x.com"},
        _account("b1", "Bo", "Kim", "bo@x.com"),
    ]).with_columns(pl.lit(T0).alias("first_seen"), pl.lit(T0).alias("last_seen"))
    write_deltalake(table_uri(home, "silver", "customer_records"), records.to_arrow())
    key = b"k"
    resolve_home(home, key=key, at=T0)
    imap = read_table(table_uri(home, "gold", "identity_map"))
    ann = imap.filter((pl.col("source") == "pos") & (pl.col("identifier_type") == "record")
                      )["person_id"].item()
    removed = erase(home, [ann], at=T0)
    assert removed["identity_map"] >= 3 and removed["customer_profiles"] == 1
    for name in ("identity_map", "customer_profiles", "person_id_history"):
        assert ann not in set(read_table(table_uri(home, "gold", name))["person_id"])
    run = resolve_home(home, key=key, at=T0 + timedelta(days=1))
    assert run.records == 1  # Ann's two records stay suppressed; Bo is untouched
    assert read_table(table_uri(home, "gold", "customer_profiles")).height == 1


def test_profile_lists_every_observed_email_as_a_hash() -> None:
    from lakehouse.identity import customer_profiles
    from lakehouse.identity.pii import pseudonymise
    records = _frame([{**_account("a1", "Ida", "Berg", "ida@new.com"), "phone": "+15550001"}])
    obs = _obs([("shop_customer", "a1", "email", "ida@old.com"),
                ("shop_customer", "a1", "email", "ida@new.com")])
    prof = customer_profiles(records, resolve(records, observations=obs), b"k", obs)
    row = prof.row(0, named=True)
    assert sorted(row["email_hashes"]) == sorted(pseudonymise(e, b"k")
                                                 for e in ("ida@old.com", "ida@new.com"))
    assert row["sources"] == ["shop_customer"] and row["records"] == 1
    assert "ida@" not in str(prof.to_dicts())
