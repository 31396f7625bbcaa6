"""Who did what with which product: purchase, cart and view signals keyed by resolved person.

Read from validated table versions only (``lakehouse.ml.inputs``: each table at its quality
pin, as a DuckDB view over that snapshot) and linked to persons exactly as the feature marts
link them (``lakehouse.ml.canonical.register_person_records``: record ids matched to the
identity map through their keyed hash), so a recommendation and a feature row agree on who a
person is. Raw record ids never leave this module: the frames carry ``person_id`` only.

``interactions(person_id, product_id, event_time, kind, channel, location_id, quantity)``:

- ``purchase``: shop order lines (web, app) of orders not cancelled, and till lines (store;
  ``location_id`` = the store) identified by loyalty card or card token;
- ``cart``: add-to-cart clicks, and lines of cancelled orders (the person wanted the item);
- ``view``: product views.
"""

from __future__ import annotations

import polars as pl

from lakehouse.home import Home

INTERACTION_SCHEMA = {"person_id": pl.String, "product_id": pl.String,
                      "event_time": pl.Datetime("us", "UTC"), "kind": pl.String,
                      "channel": pl.String, "location_id": pl.String, "quantity": pl.Int64}
# the views register_person_records and the purchase SQL read
_VIEWS = ("orders", "order_lines", "pos_lines", "clicks", "email_events", "identity_map")
_CLICKS = ("channel", "event_time", "anonymous_id", "event_type", "product_id")

_SQL = """
select r.person_id, l.product_id, o.created_at as event_time,
       case when o.cancelled_at is null then 'purchase' else 'cart' end as kind,
       o.channel, null::varchar as location_id, l.quantity
from order_lines l
join orders o on o.order_id = l.order_id and o._source_file = l._source_file
             and o._line = l._line
join person_records r
  on r.source = case when o.customer_id is null then 'shop_guest' else 'shop_customer' end
 and r.record_id = coalesce(o.customer_id, o.order_id)
union all
select r.person_id, t.product_id, t.event_time, 'purchase', 'store', t.location_id, t.quantity
from _pos_products t
join person_records r on r.source = 'pos' and r.record_id = t.transaction_id
union all
select r.person_id, c.product_id, c.event_time,
       case when c.event_type = 'add_to_cart' then 'cart' else 'view' end, c.channel,
       null, 1
from product_clicks c
join person_records r on r.source = c.channel and r.record_id = c.anonymous_id
where c.product_id is not null and c.event_type in ('add_to_cart', 'product_view')
"""


def read_interactions(home: Home) -> pl.DataFrame:
    """Every product signal of every resolved person, from the validated pins (see above)."""
    # imported here: lakehouse.ml re-exports recommend, so a module-level import would cycle
    from lakehouse.identity.pii import load_key
    from lakehouse.ml.canonical import register_person_records
    from lakehouse.ml.inputs import (
        TABLES,
        connect,
        register_inputs,
        register_snapshot,
        resolve_versions,
    )

    tables = [TABLES[v] for v in _VIEWS]
    versions = resolve_versions(home.lake, tables)
    con = connect()
    try:
        register_inputs(con, home.lake, versions)
        register_snapshot(con, "product_clicks", str(home.lake / TABLES["clicks"]),
                          versions[TABLES["clicks"]], _CLICKS)
        # the till lines' store (the feature view projects it away)
        register_snapshot(con, "_pos_products", str(home.lake / TABLES["pos_lines"]),
                          versions[TABLES["pos_lines"]],
                          ("transaction_id", "event_time", "product_id", "quantity",
                           "location_id"))
        register_person_records(con, load_key(home.root))
        frame = con.sql(_SQL).pl()
    finally:
        con.close()
    return frame.select(pl.col(c).cast(t) for c, t in INTERACTION_SCHEMA.items())
