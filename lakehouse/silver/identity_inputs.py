"""Identity inputs: every identifier seen on every source record, normalised, and one row per
source record in the schema ``lakehouse.identity.resolve(records)`` takes.

Source records and their ids follow the simulator's truth (``H/truth/identity.parquet``) so
resolution can be scored: ``shop_customer`` = the order's ``customer.id``, ``shop_guest`` = the
order id of a guest checkout, ``loyalty`` = ``member_id``, ``web`` = ``cookie_id``, ``app`` =
``deviceId``, ``pos`` = ``transaction_id`` when a loyalty card or card token was used,
``email`` = the recipient address as sent, ``reviews`` = ``review_id``.

Beyond the record columns, observations carry ``order_id`` (on shop records, reviews and
purchase events): it ties a review or a cookie's purchase to the order's shop record; and
``email_click`` (an e-mail click's campaign and second, and the same keys on the newsletter
landing that follows it within ``CLICK_WINDOW_S``): it ties a subscriber to a browser.
Resolution reads every observed value (``resolve(..., observations=)``), not only the latest
one per type that ``customer_records`` keeps.

Observations are kept per distinct (record, identifier type, value) with the first and last
time they were seen: min and max fold the same whatever the arrival order or duplication.
A record's attribute is the value of that type seen most recently (ties: smallest value).
"""

from __future__ import annotations

import polars as pl

from lakehouse.silver import normalize as nz
from lakehouse.silver.frames import UTC_US, with_knowledge

IDENTIFIER_TYPES = (
    "first_name", "last_name", "email", "phone", "address_line1", "address_line2", "city",
    "postcode", "state", "country", "date_of_birth", "loyalty_id", "payment_fingerprint",
    "device_id", "login_id",
)
RECORD_COLUMNS = ("record_id", "source", *IDENTIFIER_TYPES, "first_seen", "last_seen")
OBSERVATION_KEY = ("record_id", "source", "identifier_type", "value")
OBSERVATION_COLUMNS = (*OBSERVATION_KEY, "observed_at", "last_observed_at", "_source_file",
                       "_line", "_batch_id", "_ingested_at", "_delivered_at")
LINEAGE = ("_source_file", "_line", "_batch_id", "_ingested_at", "_delivered_at")

# how each identifier type is normalised
NORMALISE = {
    "first_name": nz.name, "last_name": nz.name, "email": nz.email, "phone": nz.phone,
    "address_line1": nz.address_line, "address_line2": nz.address_line, "city": nz.city,
    "postcode": nz.postcode, "state": nz.code, "country": nz.code,
    "loyalty_id": nz.identifier, "payment_fingerprint": nz.identifier,
    "device_id": nz.identifier, "login_id": nz.identifier, "order_id": nz.identifier,
    "email_click": nz.identifier,
}
_CHEAP = (nz.identifier, nz.code)  # cheaper to apply to every value than to find distinct ones
CLICK_WINDOW_S = 5  # a newsletter landing this many seconds after a click is that click's


def normalise_records(records: pl.DataFrame) -> pl.DataFrame:
    """Customer records normalised per column as silver normalises identity inputs (the
    contract ``lakehouse.identity.resolve`` takes), for records that do not come through
    silver: a CRM export, a public benchmark."""
    return records.with_columns(*[NORMALISE[c](records[c].cast(pl.String)).alias(c)
                                  for c in records.columns if c in NORMALISE])


def fold_source(frame: pl.DataFrame, source: str, record_id: pl.Expr, observed_at: str,
                pairs: list[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """Folded observations of one source: one row per (record, identifier type, normalised
    value), as :func:`fold_observations` would give from one row per (row, identifier).

    Built without sorting or grouping the long frame on its four string columns: each source
    row gets its rank in the fold order (observed_at, file, line) once; each type is folded
    on its own (:func:`_fold_type`), and the winning row's observed_at and lineage are
    gathered by rank.
    """
    if frame.is_empty() or not pairs:
        return pl.DataFrame(schema=observation_schema())
    frame = with_knowledge(frame)
    order = ["observed_at", "_source_file", "_line"]
    src = frame.select(
        record_id.cast(pl.String).alias("record_id"), pl.col(observed_at).alias("observed_at"),
        *[pl.col(c) for c in LINEAGE],
        *[v.cast(pl.String).alias(f"_v{i}") for i, (_, v) in enumerate(pairs)],
    ).filter(pl.col("record_id").is_not_null())
    perm = src.select(pl.arg_sort_by(order, nulls_last=True).alias("_row"))["_row"]
    rank = pl.zeros(src.height, pl.UInt32, eager=True).scatter(  # row -> position in order
        perm, pl.int_range(src.height, dtype=pl.UInt32, eager=True))
    src = src.with_columns(rank.alias("_rank"))
    columns: dict[str, list[tuple[str, bool]]] = {}
    for i, (kind, value) in enumerate(pairs):
        columns.setdefault(kind, []).append((f"_v{i}", value.meta.eq(record_id)))
    folded = pl.concat([_fold_type(src, kind, cols) for kind, cols in columns.items()])
    first = src.select("observed_at", *LINEAGE)[perm.gather(folded["_rank"])]
    out = pl.concat([folded.select("record_id", pl.lit(source).alias("source"),
                                   "identifier_type", "value"),
                     first.select("observed_at"), folded.select("last_observed_at"),
                     first.select(LINEAGE)], how="horizontal")
    return out.select(OBSERVATION_COLUMNS).cast(observation_schema())  # type: ignore[arg-type]


def _fold_type(src: pl.DataFrame, kind: str, columns: list[tuple[str, bool]]) -> pl.DataFrame:
    """(record, kind, value, min rank, max time) from the source columns holding ``kind``
    (each flagged when it is the record id itself).

    Raw values fold per (record, raw value) first, on the record alone when the value is the
    record id; each distinct raw value is normalised once; the fold per normalised value is
    skipped when one column feeds the type and normalising changed nothing (the raw fold
    already gave one row per value)."""
    raws = []
    for col, is_record in columns:
        keys = ["record_id"] if is_record else ["record_id", col]
        raws.append(src.lazy().filter(pl.col(col).is_not_null()).group_by(keys)
                    .agg(pl.col("_rank").min(),
                         pl.col("observed_at").max().alias("last_observed_at"))
                    .select("record_id", pl.col("record_id" if is_record else col).alias("raw"),
                            "_rank", "last_observed_at"))
    raw = pl.concat(raws).collect()
    norm = NORMALISE.get(kind)
    if norm is None or norm in _CHEAP:
        values = raw.with_columns((raw["raw"] if norm is None else norm(raw["raw"])).alias("value"))
    else:  # each distinct spelling once (phones, addresses, e-mails repeat across columns)
        distinct = raw.select("raw").unique()
        values = raw.join(distinct.with_columns(norm(distinct["raw"]).alias("value")), on="raw")
    rows = values.filter(pl.col("value").is_not_null())
    if len(columns) > 1 or not (rows["value"] == rows["raw"]).all():
        rows = rows.group_by("record_id", "value").agg(pl.col("_rank").min(),
                                                       pl.col("last_observed_at").max())
    return rows.select("record_id", pl.lit(kind).alias("identifier_type"), "value", "_rank",
                       "last_observed_at")


def observation_schema() -> dict[str, pl.DataType]:
    s = pl.String()
    return {"record_id": s, "source": s, "identifier_type": s, "value": s,
            "observed_at": UTC_US, "last_observed_at": UTC_US, "_source_file": s,
            "_line": pl.Int64(), "_batch_id": s, "_ingested_at": UTC_US,
            "_delivered_at": UTC_US}


def _address(prefix: str = "ship_") -> list[tuple[str, pl.Expr]]:
    return [("first_name", pl.col(f"{prefix}first_name")),
            ("last_name", pl.col(f"{prefix}last_name")),
            ("address_line1", pl.col(f"{prefix}address1")),
            ("address_line2", pl.col(f"{prefix}address2")), ("city", pl.col(f"{prefix}city")),
            ("postcode", pl.col(f"{prefix}postcode")), ("state", pl.col(f"{prefix}state")),
            ("country", pl.col(f"{prefix}country")), ("phone", pl.col(f"{prefix}phone"))]


def from_orders(orders: pl.DataFrame) -> pl.DataFrame:
    """Shop accounts (``customer.id``) and guest checkouts (order id) from silver order rows."""
    common = [("order_id", pl.col("order_id")),
              ("email", pl.col("email")), ("phone", pl.col("phone")),
              ("payment_fingerprint", pl.col("payment_fingerprint")),
              ("device_id", pl.col("browser_id")), *_address()]
    account = orders.filter(pl.col("customer_id").is_not_null())
    guest = orders.filter(pl.col("customer_id").is_null())
    return pl.concat([
        fold_source(account, "shop_customer", pl.col("customer_id"), "created_at", [
            ("login_id", pl.col("customer_id")), ("email", pl.col("customer_email")),
            ("first_name", pl.col("customer_first_name")),
            ("last_name", pl.col("customer_last_name")),
            ("phone", pl.col("customer_phone")), *common]),
        fold_source(guest, "shop_guest", pl.col("order_id"), "created_at", common),
    ])


def from_loyalty(members: pl.DataFrame) -> pl.DataFrame:
    cols = ("first_name", "last_name", "email", "phone", "address_line1", "address_line2",
            "city", "postcode", "state", "country", "date_of_birth", "loyalty_id")
    return fold_source(members, "loyalty", pl.col("member_id"), "event_time",
                       [(c, pl.col(c)) for c in cols])


def click_key(campaign: pl.Expr, at: pl.Expr, back_s: int = 0) -> pl.Expr:
    return campaign + "|" + (at.dt.epoch("s") - back_s).cast(pl.String)


def from_clickstream(events: pl.DataFrame) -> pl.DataFrame:
    """Web cookies and app devices, with the login ids and the order ids (purchase events)
    seen on them, and for a web landing from a newsletter the click keys it may answer
    (``email_click``: campaign and second, for each second of the click window before it).
    Click keys are built on the landings alone (each type folds on its own, so the two parts
    of a cookie's observations never share a key)."""
    landing = ((pl.col("event_type") == "page_view") & (pl.col("utm_source") == "newsletter")
               & pl.col("utm_campaign").is_not_null())
    clicks = [("email_click", click_key(pl.col("utm_campaign"), pl.col("event_time"), k))
              for k in range(CLICK_WINDOW_S + 1)]
    cookie = pl.col("anonymous_id")
    events = with_knowledge(events).select(
        "channel", "anonymous_id", "login_id", "order_id", "event_time", *LINEAGE,
        landing.alias("_landing"), "utm_campaign")
    return pl.concat([
        *(fold_source(events.filter(pl.col("channel") == ch), ch, cookie, "event_time",
                      [("device_id", cookie), ("login_id", pl.col("login_id")),
                       ("order_id", pl.col("order_id"))])
          for ch in ("web", "app")),
        fold_source(events.filter((pl.col("channel") == "web") & pl.col("_landing")), "web",
                    cookie, "event_time", clicks),
    ])


def from_pos(lines: pl.DataFrame) -> pl.DataFrame:
    """Till transactions paid or scanned with something that names a person."""
    named = lines.filter(pl.col("loyalty_card").is_not_null() | pl.col("card_token").is_not_null())
    return fold_source(named, "pos", pl.col("transaction_id"), "event_time",
                       [("loyalty_id", pl.col("loyalty_card")),
                        ("payment_fingerprint", pl.col("card_token"))])


def from_email(events: pl.DataFrame) -> pl.DataFrame:
    """Recipients, and the key of each link they clicked (``email_click``: campaign and
    second): the web landing that answers a click carries the same key, which ties the
    address to the browser (the landing URL carries no subscriber id)."""
    click = pl.when(pl.col("event_type") == "click").then(
        click_key(pl.col("campaign_id"), pl.col("event_time")))
    return fold_source(events, "email", pl.col("email"), "event_time",
                       [("email", pl.col("email")), ("email_click", click)])


def from_reviews(reviews: pl.DataFrame) -> pl.DataFrame:
    """Reviewers: e-mail when given, the order reviewed, display name "First L." split into
    first and last."""
    name = pl.col("reviewer_name").str.strip_chars()
    return fold_source(reviews, "reviews", pl.col("review_id"), "event_time", [
        ("email", pl.col("reviewer_email")), ("order_id", pl.col("order_id")),
        ("first_name", name.str.extract(r"^(\S+)", 1)),
        ("last_name", name.str.extract(r"^\S+\s+(.+)$", 1))])


def fold_observations(obs: pl.DataFrame) -> pl.DataFrame:
    """Distinct (record, type, value): first seen (with that row's lineage) and last seen."""
    ordered = with_knowledge(obs).sort("observed_at", "_source_file", "_line", nulls_last=True)
    return ordered.group_by(list(OBSERVATION_KEY), maintain_order=True).agg(
        pl.col("observed_at").first(), pl.col("last_observed_at").max(),
        *[pl.col(c).first() for c in LINEAGE],
    ).select(OBSERVATION_COLUMNS).sort(list(OBSERVATION_KEY))


def observations(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The folded observations of several sources (from the ``from_*`` functions), in key
    order. Each source comes from one of them, so their keys never collide."""
    obs = pl.concat(parts)
    return obs.select(OBSERVATION_COLUMNS).sort(list(OBSERVATION_KEY))


def customer_records(obs: pl.DataFrame) -> pl.DataFrame:
    """One row per source record: each identifier type's most recently seen value (ties: the
    smallest value; a null time counts as latest, as it sorts first descending).

    Sorted by key (cheap: :func:`observations` already gives key order), each record and each
    (record, type) is a run of rows numbered by a running count, so every later step groups
    sorted integers instead of hashing strings: the winner is the first row of its run at the
    run's latest time, and each type's winners are scattered into one column by record."""
    key = ["record_id", "source"]
    s = obs.select(*OBSERVATION_KEY, "observed_at", "last_observed_at").sort(
        list(OBSERVATION_KEY))

    def changed(c: str) -> pl.Expr:
        return (pl.col(c) != pl.col(c).shift(1)).fill_null(True)

    new = changed("record_id") | changed("source")
    s = s.with_columns(new.alias("_new"),
                       (new.cum_sum() - 1).cast(pl.UInt32).set_sorted().alias("_rid"),
                       (new | changed("identifier_type")).cum_sum().cast(pl.UInt32)
                       .set_sorted().alias("_run"),
                       pl.col("identifier_type").cast(pl.Enum(IDENTIFIER_TYPES), strict=False)
                       .to_physical().alias("_type"))  # null: types records do not keep
    seen = s.group_by("_rid", maintain_order=True).agg(
        pl.col("observed_at").min().alias("first_seen"),
        pl.col("last_observed_at").max().alias("last_seen"))
    at = pl.col("last_observed_at").dt.epoch("us").fill_null(2**63 - 1)
    latest = (s.select("_rid", "_run", "_type", "value", at.alias("_at"))
              .filter(pl.col("_at") == pl.col("_at").max().over("_run"))
              .filter(pl.col("_run").is_first_distinct()))
    n = seen.height
    columns = []
    for i, kind in enumerate(IDENTIFIER_TYPES):
        rows = latest.filter(pl.col("_type") == i)
        at_rid = pl.repeat(None, n, dtype=pl.UInt32, eager=True).scatter(
            rows["_rid"], pl.int_range(rows.height, dtype=pl.UInt32, eager=True))
        columns.append(rows["value"].gather(at_rid).alias(kind))
    wide = pl.DataFrame(columns).with_columns(
        pl.col("date_of_birth").str.to_date("%Y-%m-%d", strict=False))
    return pl.concat([s.select(*key, "_new").filter("_new").drop("_new"), wide,
                      seen.drop("_rid")], how="horizontal").select(RECORD_COLUMNS)
