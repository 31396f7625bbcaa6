"""Identity resolution on small hand-made frames: each test names the behaviour it pins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lakehouse.identity import resolve, resolve_full
from lakehouse.identity.evaluate import evaluate
from lakehouse.identity.graph import components
from lakehouse.identity.pii import MissingKeyError, load_key, pseudonymise
from lakehouse.identity.profiles import customer_profiles, identity_map
from lakehouse.identity.resolve import DEFAULT_ENGINE, ENGINES

KEY = b"test-key"


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None)


def _pid(out: pl.DataFrame, rid: str) -> str:
    return out.filter(pl.col("record_id") == rid)["person_id"].item()


def test_components_label_is_smallest_member_whatever_the_edge_order() -> None:
    a, b = np.array([5, 1, 3]), np.array([3, 5, 0])
    lab = components(7, a, b)
    assert lab.tolist() == [0, 0, 2, 0, 4, 0, 6]
    assert components(7, a[::-1], b[::-1]).tolist() == lab.tolist()


def test_strong_identifiers_link_and_report_the_rule() -> None:
    out = resolve(_frame([
        {"record_id": "c1", "source": "shop", "first_name": "Ann", "last_name": "Lee",
         "email": "ann@x.com", "login_id": "c1"},
        {"record_id": "m1", "source": "loyalty", "first_name": "Ann", "last_name": "Lee",
         "email": "ann@x.com", "loyalty_id": "L1"},
        {"record_id": "t1", "source": "pos", "loyalty_id": "L1"},
        {"record_id": "w1", "source": "web", "login_id": "c1", "device_id": "w1"},
        {"record_id": "z", "source": "shop", "first_name": "Bob", "last_name": "Ray"},
    ]), probabilistic=False)
    assert len({_pid(out, r) for r in ("c1", "m1", "t1", "w1")}) == 1
    assert _pid(out, "z") != _pid(out, "c1")
    by = dict(zip(out["record_id"], out["matched_by"], strict=True))
    assert by["t1"] == "loyalty_id" and by["w1"] == "login_id" and by["z"] == "none"


def test_placeholder_email_links_nothing() -> None:
    rows = [{"record_id": f"r{k}", "source": "loyalty", "first_name": f"N{chr(65 + k % 26)}x",
             "last_name": f"S{k}", "email": "none@none.com"} for k in range(40)]
    rows += [{"record_id": f"p{k}", "source": "loyalty", "first_name": "Al",
              "last_name": f"Q{k}", "email": f"p{k}@x.com"} for k in range(200)]
    res = resolve_full(_frame(rows), probabilistic=False)
    placeholder = res.records.filter(pl.col("record_id").str.starts_with("r"))
    assert placeholder["person_id"].n_unique() == 40
    assert res.report["super_nodes"] == {"email": 1}


def test_household_card_does_not_join_different_first_names() -> None:
    out = resolve(_frame([
        {"record_id": "a", "source": "shop", "first_name": "Anna", "last_name": "Kim",
         "email": "anna@x.com", "payment_fingerprint": "tok1"},
        {"record_id": "b", "source": "shop", "first_name": "Brian", "last_name": "Kim",
         "email": "brian@x.com", "payment_fingerprint": "tok1"},
        {"record_id": "a2", "source": "guest", "first_name": "Ana", "last_name": "Kim",
         "payment_fingerprint": "tok1"},
    ]), probabilistic=False)
    assert _pid(out, "a") != _pid(out, "b")
    assert _pid(out, "a2") == _pid(out, "a")  # a typo'd name on the same card still joins


def test_stitching_attaches_anonymous_cookie_without_chaining_persons() -> None:
    out = resolve(_frame([
        {"record_id": "g1", "source": "guest", "first_name": "Eve", "last_name": "Ng",
         "email": "eve@x.com", "device_id": "tablet"},
        {"record_id": "g2", "source": "guest", "first_name": "Tom", "last_name": "Ng",
         "email": "tom@x.com", "device_id": "tablet"},
        {"record_id": "g3", "source": "guest", "first_name": "Tom", "last_name": "Ng",
         "email": "tom@x.com", "device_id": "tablet"},
        {"record_id": "tablet", "source": "web", "device_id": "tablet"},
        {"record_id": "ck", "source": "web", "device_id": "ck"},
        {"record_id": "g4", "source": "guest", "first_name": "Liv", "last_name": "Ode",
         "email": "liv@x.com", "device_id": "ck"},
    ]), probabilistic=False)
    assert _pid(out, "g1") != _pid(out, "g2")
    assert _pid(out, "tablet") == _pid(out, "g2")  # the device's main user (2 of 3 uses)
    assert _pid(out, "ck") == _pid(out, "g4")
    assert out.filter(pl.col("record_id") == "ck")["matched_by"].item() == "device_stitch"


def _person(k: int, **kw) -> dict:
    base = {"source": "loyalty", "first_name": "Olivia", "last_name": "Anderson",
            "address_line1": "3042 MADISON AVE", "city": "Denver", "postcode": "80287",
            "date_of_birth": "1980-04-07", "phone": "+16755556520",
            "email": "olivia.anderson@icloud.com"}
    return {**base, "record_id": f"r{k}", **kw}


def _population(extra: list[dict]) -> pl.DataFrame:
    firsts = ["Liam", "Noah", "Emma", "Ava", "Mia", "Leo", "Zoe", "Ian", "Amy", "Ben"]
    lasts = ["Smith", "Jones", "Brown", "Patel", "Garcia", "Young", "King", "Wright"]
    rows = []
    for k in range(400):
        f, ln = firsts[k % 10], lasts[(k // 10) % 8]
        rid = f"base{k}"
        row = {"record_id": rid, "source": "shop", "first_name": f, "last_name": ln,
               "email": f"{f}{ln}{k}@x.com".lower(), "phone": f"+1555{k:07d}",
               "postcode": f"{80000 + k % 50}", "city": "Denver",
               "address_line1": f"{k} ELM ST",
               "date_of_birth": f"19{50 + k % 40}-0{1 + k % 9}-1{k % 9}"}
        rows.append(row)
        if k % 3 == 0:  # a duplicate account: other e-mail, same person details, login differs
            rows.append({**row, "record_id": f"dup{k}", "source": "loyalty",
                         "email": f"alt{k}@y.com", "phone": None})
    return _frame(rows + extra)


@pytest.mark.parametrize("engine", ENGINES)
def test_probabilistic_matches_typo_reformatted_and_transposed(engine: str) -> None:
    records = _population([
        _person(1, source="shop"),
        _person(2, first_name="Olivai", email=None, phone=None),  # typo
        _person(3, phone=None, email="oanderson@gmail.com",        # other e-mail
                address_line1="3042 MADISON AV"),
        _person(4, first_name="Anderson", last_name="Olivia", email=None,  # transposed
                phone=None),
        _person(5, first_name="Sarah", email=None, phone=None,     # same surname and city
                date_of_birth="1999-01-01"),
    ])
    res = resolve_full(records, engine=engine)
    out = res.records
    p1 = _pid(out, "r1")
    assert _pid(out, "r2") == p1 and _pid(out, "r3") == p1 and _pid(out, "r4") == p1
    assert _pid(out, "r5") != p1
    assert out.filter(pl.col("record_id") == "r2")["matched_by"].item() == engine
    assert out.filter(pl.col("record_id") == "r2")["match_probability"].item() >= 0.99
    assert res.report["engine"] == engine and res.report[engine]["pairs_linked"] > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_no_match_between_people_sharing_surname_and_city(engine: str) -> None:
    out = resolve(_population([
        _person(1, first_name="Mark", email="m@a.com", phone="+13035550001",
                date_of_birth="1970-01-01", address_line1="1 OAK ST"),
        _person(2, first_name="Julia", email="j@b.com", phone="+13035550002",
                date_of_birth="1990-02-02", address_line1="9 PINE RD"),
    ]), engine=engine)
    assert _pid(out, "r1") != _pid(out, "r2")


def test_engine_choice_is_honoured() -> None:
    records = _population([_person(1), _person(2, first_name="Olivai", email=None, phone=None)])
    for engine in ENGINES:
        assert set(resolve(records, engine=engine)["matched_by"]) & set(ENGINES) == {engine}
    assert set(resolve(records)["matched_by"]) & set(ENGINES) == {DEFAULT_ENGINE}
    with pytest.raises(ValueError, match="unknown identity engine"):
        resolve(records, engine="dedupe")


def test_splink_is_imported_only_when_its_engine_runs() -> None:
    code = ("import sys, polars as pl; from lakehouse.identity import resolve; "
            "import orchestration.assets.identity; "
            "resolve(pl.DataFrame({'record_id': ['a', 'b'], 'source': ['s', 's'], "
            "'first_name': ['Ann', 'Ann'], 'last_name': ['Lee', 'Lee']}), "
            "engine='fellegi_sunter'); "
            "assert 'splink' not in sys.modules, 'splink imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])


def test_ids_stay_stable_and_merges_and_splits_are_recorded() -> None:
    a = {"record_id": "a", "source": "shop", "first_name": "Ann", "last_name": "Lee",
         "email": "ann@x.com"}
    b = {"record_id": "b", "source": "loyalty", "first_name": "Ann", "last_name": "Lee",
         "phone": "+15550000001"}
    first = resolve_full(_frame([a, b]), probabilistic=False)
    assert first.records["person_id"].n_unique() == 2
    assert set(first.history["event"]) == {"new"}
    # a new record carries both identifiers: the two persons merge, the survivor keeps its id
    c = {"record_id": "c", "source": "web", "email": "ann@x.com", "phone": "+15550000001"}
    second = resolve_full(_frame([a, b, c]), previous=first.records, probabilistic=False)
    ids = set(second.records["person_id"])
    assert len(ids) == 1 and ids <= set(first.records["person_id"])
    merge = second.history.filter(pl.col("event") == "merge")
    assert merge.height == 1 and merge["person_id"].item() in ids
    # an unchanged re-run keeps every id and records nothing
    again = resolve_full(_frame([a, b, c]), previous=second.records, probabilistic=False)
    assert again.records.equals(second.records) and again.history.is_empty()
    # the linking record goes away: one part keeps the id, the other is a recorded split
    third = resolve_full(_frame([a, b]), previous=second.records, probabilistic=False)
    assert third.records["person_id"].n_unique() == 2
    assert next(iter(ids)) in set(third.records["person_id"])
    split = third.history.filter(pl.col("event") == "split")
    assert split.height == 1 and split["other_ids"].item().to_list() == list(ids)


def test_household_ids_stay_stable_across_runs() -> None:
    home = {"address_line1": "1 OAK ST", "postcode": "10001"}
    b = {"record_id": "b", "source": "shop", "first_name": "Ann", "last_name": "Lee", **home}
    c = {"record_id": "c", "source": "shop", "first_name": "Tom", "last_name": "Lee", **home}
    first = resolve_full(_frame([b, c]), probabilistic=False).records
    assert first["person_id"].n_unique() == 2 and first["household_id"].n_unique() == 1
    # a third member whose record sorts first would name a fresh household: the old id stays
    a = {"record_id": "a", "source": "loyalty", "first_name": "Zoe", "last_name": "Lee", **home}
    second = resolve_full(_frame([a, b, c]), previous=first, probabilistic=False).records
    assert set(second["household_id"]) == set(first["household_id"])
    fresh = resolve_full(_frame([a, b, c]), probabilistic=False).records
    assert set(fresh["household_id"]) != set(first["household_id"])


def test_row_order_does_not_change_the_partition() -> None:
    records = _population([_person(1), _person(2, first_name="Olivai")])
    one = resolve(records)
    two = resolve(records.sample(fraction=1.0, shuffle=True, seed=3))
    assert one.sort("source", "record_id").equals(two.sort("source", "record_id"))


def test_evaluate_counts_pairs_and_clusters() -> None:
    truth = _frame([{"source": "s", "record_id": str(k), "person_id": p}
                    for k, p in enumerate("AABBC")])
    pred = _frame([{"source": "s", "record_id": str(k), "person_id": p}
                   for k, p in enumerate("XXXYZ")])
    m = evaluate(pred, truth)
    assert m["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["split_person_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["overmerged_id_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_key_sources(tmp_path) -> None:
    assert load_key(env={"LAKEHOUSE_HMAC_KEY": "k"}) == b"k"
    with pytest.raises(MissingKeyError, match="LAKEHOUSE_HMAC_KEY"):
        load_key(tmp_path, env={"LAKEHOUSE_ENV": "production"})
    dev = load_key(tmp_path, env={})
    assert dev == load_key(tmp_path, env={}) and (tmp_path / "secrets" / "hmac.key").exists()
    assert pseudonymise("a@b.com", KEY) != pseudonymise("a@b.com", b"other")
    assert pseudonymise(None, KEY) is None


def test_profiles_and_identity_map_hold_no_raw_pii() -> None:
    records = _frame([_person(1, source="shop", payment_fingerprint="tok_abc",
                              device_id="dev-1", loyalty_id="L9"), _person(2)])
    resolved = resolve(records)
    prof = customer_profiles(records, resolved, KEY)
    imap = identity_map(resolved, records, KEY)
    assert prof.height == 1 and prof["device_count"].item() == 1
    raw = ["Olivia", "Anderson", "olivia.anderson@icloud.com", "+16755556520", "3042 MADISON",
           "tok_abc", "dev-1", "L9"]
    for frame in (prof, imap):
        text = str(frame.to_dicts())
        assert not [v for v in raw if v in text]
