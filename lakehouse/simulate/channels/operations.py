"""Back-office channels: WMS movements, purchase orders, shipments, returns, reviews, loyalty
sign-ups and daily ad spend, plus the daily operations that produce them (counts, receipts,
picks, transfers, replenishment, adjustments and unrecorded shrinkage)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.identity import typed_address, typed_email, typed_name, typed_phone

if TYPE_CHECKING:
    from lakehouse.simulate.world import World

DAY = 86400
HOUR = 3600
CARRIERS = {"standard": ("USPS", "UPS Ground", "FedEx Ground"), "express": ("UPS Air", "FedEx")}
RESTOCKABLE = ("wrong_size", "changed_mind")


def wms(w: World, loc: int, prod: int, mtype: str, qty: int, counted: int | None, ref: str,
        t: float) -> None:
    w.seq_no[loc] += 1
    site = w.loc_codes[loc]
    seq = w.seq_no[loc]
    mid = f"{site}-{seq:08d}"
    row = [mid, seq, site, w.catalog.wms_code[prod], mtype, qty,
           "" if counted is None else counted, ref, timefmt.iso(t)]
    has = {"quantity": mtype not in ("ADJUSTMENT", "CYCLE_COUNT")}
    w.landing.csv(w.T[("wms", "movements")], mid, t, t + 10 + w.d.u() * 600, row, has)


def loyalty_signup(w: World, pi: int, t: float, arrival: float | None,
                   store: int | None = None) -> None:
    """One loyalty membership as hand-typed at the desk (``store`` -1/None: online)."""
    d, cfg = w.d, w.cfg
    p = w.persons[pi]
    n = w.counter("member")
    member = f"M{1_000_000 + n * 3 + d.below(3):08d}"
    card = f"6006{d.digits(12)}"
    first, last = typed_name(d, p.first, p.last, cfg.typo_rate)
    email = typed_email(d, p.emails[d.below(len(p.emails))], cfg.typo_rate) if d.chance(
        0.85) else ""
    a1, a2, zip_ = typed_address(d, p, cfg.typo_rate) if d.chance(0.8) else ("", "", "")
    city, state, *_ = names.CITIES[p.city]
    store_code = w.loc_codes[store] if store is not None and store >= 0 else ""
    row = [member, card, first, last, email, typed_phone(d, p) if d.chance(0.7) else "",
           a1, a2, city if a1 else "", zip_, state if a1 else "",
           d.pick(("US", "US", "USA", "")) if a1 else "",
           p.dob.isoformat() if d.chance(0.6) else "", store_code, timefmt.iso(t)]
    arr = arrival if arrival is not None else t + HOUR + d.u() * 5 * HOUR
    w.landing.csv(w.T[("loyalty", "members")], member, t, arr, row)
    p.loyalty_cards.append(card)
    w.customer_record(p)
    w.identity("loyalty", member, p.pid)


def morning(w: World, eday: int) -> None:
    """07:00 cycle counts, 07:30 arrivals (POs, transfers, returns), 08:00 picks and shipping."""
    t0 = eday * DAY
    d, st, cat = w.d, w.stock, w.catalog
    # cycle counts reveal the true on-hand (shrinkage included)
    if w.cfg.cycle_count_share:
        mask = w.rng.random(st.on_hand.shape) < w.cfg.cycle_count_share
        mask &= (cat.launched <= eday)[:, None]
        for k, (p, loc) in enumerate(np.argwhere(mask).tolist()):
            wms(w, loc, p, "CYCLE_COUNT", 0, int(st.on_hand[p, loc]), f"CC-{eday}",
                t0 + 7 * HOUR + k)
    items = w.agenda.pop(eday, [])
    for k, (kind, data) in enumerate(items):
        t = t0 + 7.5 * HOUR + k * 2
        if kind == "po":
            _po_delivered(w, data, t)
        elif kind == "transfer_in":
            p, loc, qty, ref = data
            st.add(p, loc, qty)
            st.inbound[p, loc] -= qty
            wms(w, loc, p, "TRANSFER_IN", qty, None, ref, t)
        elif kind == "return":
            _return(w, data, t, eday)
        elif kind == "review":
            _review(w, data, t0 + 9 * HOUR + d.u() * 14 * HOUR)
        elif kind == "loyalty":
            loyalty_signup(w, data, t0 + 9 * HOUR + d.u() * 13 * HOUR, None, store=-1)
        elif kind == "delivered":
            _delivered(w, data, eday)
    # shipping: FIFO within each warehouse's daily parcel capacity; an order placed after the
    # wave starts (a late-evening session further west) waits for the next morning's wave
    wave = t0 + 8 * HOUR
    for wh in range(w.n_wh):
        cap = w.locations[wh].capacity
        queue = w.ship_queue[wh]
        todo = [order for order in queue if order["t"] < wave][:cap]
        shipped = {id(order) for order in todo}
        w.ship_queue[wh] = [order for order in queue if id(order) not in shipped]
        for k, order in enumerate(todo):
            _ship(w, order, wave + k * 7, eday)


def _ship(w: World, order: dict, t: float, eday: int) -> None:
    d = w.d
    wh = order["wh"]
    for prod, qty in order["lines"]:
        w.stock.pick(prod, wh, qty)
        wms(w, wh, prod, "PICK", qty, None, order["id"], t)
    service = "express" if order["express"] else "standard"
    from_zone = w.locations[wh].zone
    to_zone = names.ZONES[int(w.pop.zone[order["person"]])]
    rate = w.rate_of[(from_zone, to_zone, service)]
    r = d.u()
    delay = -1 if r < 0.08 else (0 if r < 0.75 else (1 if r < 0.9 else d.between(2, 4)))
    days = max(1, rate.days + delay)
    units = sum(q for _, q in order["lines"])
    ship = {"shipment_id": f"SHP{w.counter('shipment'):08d}", "order": order,
            "from": w.loc_codes[wh], "carrier": d.pick(CARRIERS[service]), "service": service,
            "zone": to_zone, "shipped": t, "promised": eday + rate.days,
            "cost": round(rate.cost + 0.5 * (units - 1), 2), "units": units}
    w.agenda[eday + days].append(("delivered", ship))
    # the carrier reports the parcel twice: at pick-up (delivered_at empty) and on delivery
    w.landing.csv(w.T[("shipments", "shipments")], ship["shipment_id"], t,
                  t + 1800 + d.u() * 3 * HOUR, _shipment_row(ship, None))


def _shipment_row(ship: dict, t_del: float | None) -> list:
    return [ship["shipment_id"], ship["order"]["id"], ship["from"], ship["carrier"],
            ship["service"], ship["zone"], timefmt.iso(ship["shipped"]),
            timefmt.date_str(ship["promised"]), "" if t_del is None else timefmt.iso(t_del),
            f"{ship['cost']:.2f}", ship["units"]]


def _delivered(w: World, ship: dict, eday: int) -> None:
    d = w.d
    t_del = eday * DAY + 15 * HOUR + d.u() * 9 * HOUR
    w.landing.csv(w.T[("shipments", "shipments")], ship["shipment_id"], ship["shipped"],
                  t_del + 1800 + d.u() * 3 * HOUR, _shipment_row(ship, t_del))
    order = ship["order"]
    for prod, qty in order["lines"]:
        if d.chance(w.return_prob(prod)):
            w.agenda[eday + d.between(3, 14)].append(
                ("return", {"order_id": order["id"], "channel": order["source"], "prod": prod,
                            "qty": qty, "loc": order["wh"], "person": order["person"],
                            "unit": float(w.catalog.price[prod])}))
    if d.chance(0.12):
        w.agenda[eday + d.between(2, 12)].append(
            ("review", {"person": order["person"], "prod": order["lines"][0][0],
                        "order_id": order["id"]}))


def _return(w: World, r: dict, t: float, eday: int) -> None:
    d, cat = w.d, w.catalog
    prod = r["prod"]
    bad = 1.0 - float(cat.quality[prod])
    if d.u() < min(0.9, bad * 1.8):
        reason = d.pick(("damaged", "defective", "defective", "not_as_described"))
    else:
        fits = ("apparel", "footwear")
        cat_name = list(names.CATEGORIES)[int(cat.category[prod])]
        reason = "wrong_size" if cat_name in fits and d.chance(0.6) else "changed_mind"
    disposition = "restock" if reason in RESTOCKABLE and d.chance(0.9) else "write_off"
    rid = f"RMA{w.counter('return'):08d}"
    loc = r["loc"]
    refund = round(r["unit"] * r["qty"], 2)
    row = [rid, r["order_id"], r["channel"], cat.variant[prod], r["qty"], reason, disposition,
           w.loc_codes[loc], timefmt.iso(t), f"{refund:.2f}"]
    w.landing.csv(w.T[("returns", "returns")], rid, t, t + 600 + d.u() * 2 * HOUR, row)
    if disposition == "restock":
        w.stock.add(prod, loc, r["qty"])
        wms(w, loc, prod, "RETURN_RESTOCK", r["qty"], None, rid, t + 60)


def _review(w: World, r: dict, t: float) -> None:
    d, cat = w.d, w.catalog
    p = w.persons[r["person"]]
    q = float(cat.quality[r["prod"]])
    rating = int(min(5, max(1, round(1 + 4 * q + float(w.rng.normal(0, 0.8))))))
    rid = f"RV{w.counter('review'):08d}"
    rec = {"review_id": rid, "variant_id": cat.variant[r["prod"]], "rating": rating}
    if d.chance(0.85):
        rec["title"] = d.pick(names.REVIEW_TITLES[rating])
    rec["body"] = d.pick(names.REVIEW_BODIES[rating])
    if d.chance(0.7):
        rec["reviewer_email"] = typed_email(d, p.emails[0], w.cfg.typo_rate)
    rec["reviewer_name"] = f"{p.first} {p.last[0]}."
    if r["order_id"]:
        rec["order_id"] = r["order_id"]
    rec["submitted_at"] = timefmt.iso(t)
    w.landing.json(w.T[("reviews", "reviews")], rid, t, t + 60 + d.u() * 12 * HOUR, rec)
    w.identity("reviews", rid, p.pid)


def _po_delivered(w: World, po: dict, t: float) -> None:
    p, loc, qty = po["prod"], po["loc"], po["qty"]
    w.stock.add(p, loc, qty)
    w.stock.inbound[p, loc] -= qty
    wms(w, loc, p, "RECEIPT", qty, None, po["po_number"], t)
    _po_event(w, po, "delivered", t + 30)


def _po_event(w: World, po: dict, event: str, t: float) -> None:
    eid = f"POE{w.counter('po_event'):09d}"
    rec = {"event_id": eid, "po_number": po["po_number"], "event": event,
           "supplier_id": po["supplier"], "wms_item_code": w.catalog.wms_code[po["prod"]],
           "site_code": w.loc_codes[po["loc"]], "qty": po["qty"],
           "promised_date": timefmt.date_str(po["promised"]), "event_time": timefmt.iso(t)}
    w.landing.json(w.T[("suppliers", "purchase_orders")], eid, t, t + 60 + w.d.u() * HOUR, rec)


def evening(w: World, eday: int) -> None:
    """Cancellations released, ad spend, replenishment, transfers, adjustments, shrinkage."""
    t0 = eday * DAY
    d, st, cat, cfg = w.d, w.stock, w.catalog, w.cfg
    for order in w.cancelled_today:
        for prod, qty in order["lines"]:
            st.release(prod, order["wh"], qty)
    w.cancelled_today = []
    # daily ad spend per campaign, consistent with the click log
    for k, camp in enumerate(w.campaigns):
        costs = w.ad_clicks_today.get(camp.campaign_id, [])
        clicks = len(costs)
        impressions = int(clicks / camp.ctr * (0.8 + 0.4 * d.u())) + d.between(50, 500)
        spend = sum(costs) + impressions * 0.0005
        day = timefmt.date_str(eday)
        row = [f"{camp.campaign_id}:{day}", day, camp.campaign_id, camp.network, impressions,
               clicks, f"{spend:.2f}"]
        t = t0 + DAY - 1
        w.landing.csv(w.T[("ads", "spend")], row[0], t, t + 6 * HOUR + k, row)
    # replenishment of warehouses from suppliers
    sellable_soon = np.zeros(len(cat), dtype=bool)
    for p in range(len(cat)):
        lead = cat.suppliers[int(cat.supplier[p])].lead_days
        sellable_soon[p] = (cat.launched[p] - lead - 1 <= eday) and not cat.discontinued[p]
    for wh in range(w.n_wh):
        pos = st.on_hand[:, wh] - st.reserved[:, wh] + st.inbound[:, wh]
        need = np.flatnonzero((pos < st.reorder_point[:, wh]) & sellable_soon)
        for k, p in enumerate(need.tolist()):
            sup = cat.suppliers[int(cat.supplier[p])]
            qty = int(st.order_up_to[p, wh] - pos[p])
            if qty < 1:
                continue
            promised = eday + sup.lead_days
            if d.u() < sup.on_time:
                actual = promised - (1 if d.chance(0.15) else 0)
            else:
                actual = promised + max(1, math.ceil(-sup.mean_delay * math.log(1 - d.u())))
            po = {"po_number": f"PO-{w.counter('po'):06d}", "prod": p, "loc": wh, "qty": qty,
                  "supplier": sup.sid, "promised": promised}
            st.inbound[p, wh] += qty
            _po_event(w, po, "created", t0 + 23 * HOUR + k)
            w.agenda[max(actual, eday + 1)].append(("po", po))
    # store replenishment by transfer from the warehouse with most free stock
    for loc in range(w.n_wh, len(w.locations)):
        pos = st.on_hand[:, loc] + st.inbound[:, loc]
        need = np.flatnonzero((pos < st.reorder_point[:, loc]) & (cat.launched <= eday + 1))
        for k, p in enumerate(need.tolist()):
            free = st.on_hand[p, : w.n_wh] - st.reserved[p, : w.n_wh]
            wh = int(np.argmax(free))
            want = int(st.order_up_to[p, loc] - pos[p])
            got = st.remove(p, wh, min(want, max(0, int(free[wh]) - 1)))
            if got <= 0:
                continue
            ref = f"TR-{w.counter('transfer'):07d}"
            wms(w, wh, p, "TRANSFER_OUT", got, None, ref, t0 + 23.5 * HOUR + k)
            st.inbound[p, loc] += got
            w.agenda[eday + 1 + int(d.chance(0.3))].append(("transfer_in", (p, loc, got, ref)))
    # recorded adjustments: damage found on the floor
    for loc in range(len(w.locations)):
        if d.chance(0.3):
            p = d.below(len(cat))
            got = st.remove(p, loc, d.between(1, 2))
            if got:
                wms(w, loc, p, "ADJUSTMENT", -got, None, "DAMAGE", t0 + 22 * HOUR + loc)
    # unrecorded shrinkage: only the next cycle count sees it
    if cfg.shrinkage_rate:
        free = np.maximum(st.on_hand - st.reserved, 0)
        loss = w.rng.binomial(free, cfg.shrinkage_rate)
        st.on_hand -= loss
