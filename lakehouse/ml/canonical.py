"""Source tables -> the canonical event relations the feature definitions read.

Customer relations are keyed by ``person_id``: each source record is linked to its person
through the identity map, whose ``record`` rows carry the keyed hash (HMAC-SHA256) of the
record id. Record ids per source (as in ``lakehouse.silver.identity_inputs``): shop_customer =
``orders.customer_id``, shop_guest = ``orders.order_id`` of orders without a customer,
web / app = clickstream ``anonymous_id``, pos = ``transaction_id`` of till lines with a loyalty
card or card token, email = the recipient address exactly as sent. Only the distinct record
ids are hashed (in DuckDB); raw ids stay inside this process and never reach an output.

Relations (DuckDB views):
- ``purchase_lines(person_id, order_key, channel, event_time, cancelled_at, category,
  quantity, amount)``: shop order lines (web, app) and till lines (store); amount after
  discount, exact (DECIMAL).
- ``customer_returns(person_id, event_time, quantity, refund)``.
- ``interactions(person_id, event_time, session_id)``: web and app events.
- ``email_activity(person_id, event_time, event_type, campaign_id)``.
- ``sales(product_id, event_time, cancelled_at, channel, quantity, amount, list_amount)``.
- ``product_returns(product_id, event_time, quantity)``, ``product_reviews(product_id,
  event_time, rating)``, ``catalog(product_id, category, price)``, ``promos(category,
  discount_pct, start_date, end_date)`` (null category: sitewide), ``stock_daily(product_id,
  date, on_hand, available)`` (summed over locations).

Every relation built from event or versioned tables also carries the knowledge interval
``[known_at, superseded_at)`` of its row (see ``lakehouse.ml.inputs``): a row joined from
several inputs (an order line, its order version and the catalog version of its product) is
known while all of them are, so it gets the latest ``known_at`` and the earliest
``superseded_at`` (DuckDB's ``greatest``/``least`` skip nulls: null = unbounded).
"""

from __future__ import annotations

import duckdb

from lakehouse.identity.pii import install_pseudonymise

# (source, SQL giving the distinct raw record ids of that source)
_RECORD_IDS = {
    "shop_customer": "select distinct customer_id from orders where customer_id is not null",
    "shop_guest": "select distinct order_id from orders where customer_id is null",
    "web": "select distinct anonymous_id from clicks where channel = 'web'",
    "app": "select distinct anonymous_id from clicks where channel = 'app'",
    "pos": "select distinct transaction_id from pos_lines "
           "where loyalty_card is not null or card_token is not null",
    "email": "select distinct email from email_events",
}


def register_person_records(con: duckdb.DuckDBPyConnection, key: bytes) -> int:
    """View ``person_records(source, record_id, person_id)``: every source record id that the
    identity map links to a person (matched through its keyed hash). Returns its row count.
    Installs ``pseudonymise()`` on ``con`` (a temporary macro: ``pii.install_pseudonymise``)."""
    install_pseudonymise(con, key)
    ids = " union all ".join(
        f"select '{source}' as source, record_id from ({sql}) as q(record_id) "
        "where record_id is not null" for source, sql in _RECORD_IDS.items())
    mapped = con.sql(f"""
        select h.source, h.record_id, min(m.person_id) as person_id
        from (select source, record_id, pseudonymise(record_id) as identifier_hash
              from ({ids})) h
        join identity_map m on m.identifier_type = 'record' and m.source = h.source
                           and m.identifier_hash = h.identifier_hash
        group by all""").fetch_arrow_table()
    con.register("person_records", mapped)
    return mapped.num_rows


CUSTOMER_VIEWS = """
create or replace view order_person as
    select o.order_id, o._source_file, o._line, o.channel, o.created_at as event_time,
           o.cancelled_at, r.person_id, o.known_at, o.superseded_at
    from orders o
    join person_records r
      on r.source = case when o.customer_id is null then 'shop_guest' else 'shop_customer' end
     and r.record_id = coalesce(o.customer_id, o.order_id);

create or replace view purchase_lines as
    select * from (
        select op.person_id, op.order_id as order_key, op.channel, op.event_time,
               op.cancelled_at, p.category, l.quantity,
               (l.quantity * l.unit_price - coalesce(l.discount, 0))::decimal(18, 2) as amount,
               greatest(op.known_at, p.known_at) as known_at,
               least(op.superseded_at, p.superseded_at) as superseded_at
        from order_lines l
        join order_person op on op.order_id = l.order_id and op._source_file = l._source_file
                            and op._line = l._line
        left join products p on p.product_id = l.product_id
        union all
        select r.person_id, t.transaction_id, 'store', t.event_time, null::timestamptz,
               p.category, t.quantity,
               (t.quantity * t.unit_price - coalesce(t.discount, 0))::decimal(18, 2),
               greatest(t.known_at, p.known_at), least(t.superseded_at, p.superseded_at)
        from pos_lines t
        join person_records r on r.source = 'pos' and r.record_id = t.transaction_id
        left join products p on p.product_id = t.product_id)
    where known_at is null or superseded_at is null or known_at < superseded_at;

create or replace view customer_returns as
    select * from (
        select k.person_id, x.event_time, x.quantity,
               x.refund_amount::decimal(18, 2) as refund,
               greatest(x.known_at, k.known_at) as known_at,
               least(x.superseded_at, k.superseded_at) as superseded_at
        from returns x
        join (select order_id as order_key, person_id, known_at, superseded_at
              from order_person
              union
              select record_id, person_id, null::timestamptz, null::timestamptz
              from person_records where source = 'pos') k
          on k.order_key = x.order_id)
    where known_at is null or superseded_at is null or known_at < superseded_at;

create or replace view interactions as
    select r.person_id, e.event_time, e.session_id, e.known_at, e.superseded_at
    from clicks e
    join person_records r on r.source = e.channel and r.record_id = e.anonymous_id;

create or replace view email_activity as
    select r.person_id, e.event_time, e.event_type, e.campaign_id, e.known_at, e.superseded_at
    from email_events e
    join person_records r on r.source = 'email' and r.record_id = e.email;

create or replace view persons as
    select distinct person_id from identity_map;
"""

PRODUCT_VIEWS = """
create or replace view sales as
    select l.product_id, o.created_at as event_time, o.cancelled_at, o.channel, l.quantity,
           (l.quantity * l.unit_price - coalesce(l.discount, 0))::decimal(18, 2) as amount,
           (l.quantity * l.unit_price)::decimal(18, 2) as list_amount,
           o.known_at, o.superseded_at
    from order_lines l
    join orders o on o.order_id = l.order_id and o._source_file = l._source_file
                 and o._line = l._line
    union all
    select product_id, event_time, null::timestamptz, 'store', quantity,
           (quantity * unit_price - coalesce(discount, 0))::decimal(18, 2),
           (quantity * unit_price)::decimal(18, 2), known_at, superseded_at
    from pos_lines;

create or replace view product_returns as
    select product_id, event_time, quantity, known_at, superseded_at from returns;

create or replace view product_reviews as
    select product_id, event_time, rating, known_at, superseded_at from reviews;

create or replace view catalog as
    select product_id, min(category) as category, min(price) as price, known_at,
           superseded_at
    from products group by product_id, known_at, superseded_at;

create or replace view promos as
    select category, discount_pct, start_date, end_date from promotions;

create or replace view stock_daily as
    select product_id, date, sum(on_hand) as on_hand, sum(available_to_promise) as available
    from inventory_daily group by product_id, date;
"""


def register_customer_views(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    register_person_records(con, key)
    con.execute(CUSTOMER_VIEWS)


def register_product_views(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(PRODUCT_VIEWS)
