"""Shop orders (web and app) and store tills (POS): where demand meets stock.

An online order reserves stock at the nearest warehouse that has the main product; a till sale
takes stock off the store shelf. What is wanted but not available is not sold (lost demand).
Checkout identity is messy on purpose: accounts, duplicate accounts, guest checkouts, re-typed
names, phones and addresses, household cards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.identity import typed_address, typed_email, typed_name, typed_phone
from lakehouse.simulate.people import Person
from lakehouse.simulate.products import CATEGORY_NAMES

if TYPE_CHECKING:
    from lakehouse.simulate.world import Session, World

DAY = 86400


def _qty(w: World) -> int:
    r = w.d.u()
    return 1 if r < 0.82 else (2 if r < 0.96 else 3)


def _basket(w: World, products: list[int], pick: Callable[[int, int, int], int],
            loc: int) -> list[tuple[int, int]]:
    """(product, units) of each product ``pick`` (reserve online, take off a store's shelf)
    got any of at ``loc``, each wanted in a random quantity: what the person leaves with."""
    lines = []
    for prod in products:
        got = pick(prod, loc, _qty(w))
        if got:
            lines.append((prod, got))
    return lines


def new_account(w: World, p: Person, t: float) -> dict:
    d = w.d
    n = w.counter("account")
    dup = bool(p.accounts) or p.records > 0
    base = p.emails[min(len(p.accounts), len(p.emails) - 1)]
    email = typed_email(d, base, w.cfg.typo_rate)
    if dup and p.accounts and email.lower() == p.accounts[-1]["email"].lower():
        local, dom = base.split("@", 1)
        email = f"{local}{d.between(1, 99)}@{dom}"  # a new address for the new account
    first, last = typed_name(d, p.first, p.last, w.cfg.typo_rate)
    acct = {"id": str(7_000_000_000 + n * 17 + d.below(17)), "email": email,
            "first_name": first, "last_name": last,
            "phone": typed_phone(d, p) if d.chance(0.6) else None,
            "created_at": timefmt.iso(t - 30 - d.u() * 300)}
    p.accounts.append(acct)
    w.customer_record(p)
    w.identity("shop_customer", acct["id"], p.pid)
    return acct


def checkout_account(w: World, p: Person, logged_in: dict | None, t: float) -> dict | None:
    """Account used at checkout; None = guest. Steers the duplicate-record share to the knob."""
    d = w.d
    guest = d.chance(w.cfg.guest_share)
    if logged_in is not None:
        return logged_in
    if p.accounts:
        if w.need_dup() and d.chance(0.5):
            return new_account(w, p, t)
        return None if guest else p.accounts[d.below(len(p.accounts))]
    if p.records == 0:
        return None if guest else new_account(w, p, t)
    return new_account(w, p, t) if (not guest and w.dup_ok()) else None


def online_order(w: World, s: Session, t: float, source: str, browser_id: str,
                 logged_in: dict | None, landing_site: str, eday: int) -> dict | None:
    """Reserve stock and write the order (and its cancellation); None if nothing was in stock."""
    d, cfg, cat = w.d, w.cfg, w.catalog
    p = w.persons[s.person]
    zi = int(w.pop.zone[s.person])
    order_wh = w.wh_order[zi]
    main = s.products[0]
    wh = next((x for x in order_wh if w.stock.available(main, x) > 0), order_wh[0])
    disc, which = w.promo_today[source]
    lines = _basket(w, s.products, w.stock.reserve, wh)
    if not lines:
        return None
    acct = checkout_account(w, p, logged_in, t)
    n = w.counter("order")
    oid = str(5_100_000_000_000 + n * 7 + d.below(7))
    items = []
    total = 0.0
    codes = []
    for k, (prod, qty) in enumerate(lines):
        c = int(cat.category[prod])
        price = float(cat.price[prod])
        pct = float(disc[c])
        line_disc = round(price * qty * pct / 100.0, 2)
        if pct and which[c] is not None and which[c].code and which[c].code not in codes:
            codes.append(which[c].code)
        total += price * qty - line_disc
        item = {"id": str(int(oid) * 10 + k + 1), "variant_id": cat.variant[prod],
                "sku": f"{cat.brands[prod][:3].upper()}-{CATEGORY_NAMES[c][:3]}-{prod % 97}",
                "title": cat.titles[prod], "quantity": qty, "price": f"{price:.2f}"}
        if line_disc:
            item["total_discount"] = f"{line_disc:.2f}"
        items.append(item)
    first, last = typed_name(d, p.first, p.last, cfg.typo_rate)
    a1, a2, zip_ = typed_address(d, p, cfg.typo_rate)
    city, state, *_ = names.CITIES[p.city]
    phone = typed_phone(d, p) if d.chance(0.7) else None
    ship = {"first_name": first, "last_name": last, "address1": a1}
    if a2:
        ship["address2"] = a2
    ship.update({"city": city if d.chance(0.9) else city.upper(), "zip": zip_,
                 "province_code": state, "country_code": "US"})
    if phone:
        ship["phone"] = phone
    email = acct["email"] if acct and d.chance(0.8) else typed_email(d, p.emails[0], cfg.typo_rate)
    card_shared = bool(p.shared_card) and d.chance(0.25)
    card = p.shared_card if card_shared else p.cards[d.below(len(p.cards))]
    stamp = timefmt.iso(t)
    order = {"id": oid, "order_number": 1000 + n, "created_at": stamp, "updated_at": stamp,
             "source_name": source, "financial_status": "paid", "email": email}
    if phone:
        order["phone"] = phone
    if acct:
        order["customer"] = {k: v for k, v in acct.items() if v is not None}
    order.update({"shipping_address": ship, "line_items": items, "currency": "USD",
                  "total_price": f"{total:.2f}", "payment_fingerprint": card,
                  "browser_id": browser_id})
    if landing_site:
        order["landing_site"] = landing_site
    if codes:
        order["discount_codes"] = codes
    tgt = w.T[("orders", "orders")]
    w.landing.json(tgt, oid, t, t + 60 + d.u() * 900, order)
    if acct is None:
        w.identity("shop_guest", oid, p.pid)
    units = sum(q for _, q in lines)
    cancelled = d.chance(cfg.cancel_rate)
    w.truth.add("orders", (oid, p.pid, source, int(t * 1000), w.loc_codes[wh], units,
                           round(total, 2), cancelled, acct is None))
    w.order_touchpoints(s.person, oid, t, source)
    conversion_drivers(w, s, oid, source)
    rec = {"id": oid, "person": s.person, "wh": wh, "lines": lines, "t": t,
           "express": d.chance(0.2), "source": source, "paid": total, "account": acct,
           "email": email}
    if cancelled:
        t_end = (eday + 1) * DAY - 1
        t_cancel = t + max(1.0, (t_end - t) * d.u())
        upd = dict(order)
        upd.update({"updated_at": timefmt.iso(t_cancel), "cancelled_at": timefmt.iso(t_cancel),
                    "financial_status": "voided"})
        w.landing.json(tgt, oid, t_cancel, t_cancel + 60 + d.u() * 900, upd)
        w.cancelled_today.append(rec)
    else:
        w.ship_queue[wh].append(rec)
    return rec


def store_visit(w: World, s: Session, eday: int) -> None:
    d, _cfg, cat = w.d, w.cfg, w.catalog
    p = w.persons[s.person]
    loc = s.loc
    store = w.locations[loc]
    if w.pending_loyalty.get(s.person) and d.chance(0.15):
        from lakehouse.simulate.channels.operations import loyalty_signup

        w.pending_loyalty[s.person] -= 1
        loyalty_signup(w, s.person, s.t - 60, None, store=loc)
    if not s.buy:
        return
    lines = _basket(w, s.products, w.stock.take, loc)
    if not lines:
        return
    n = w.counter(f"txn-{store.code}")
    reg = d.between(1, store.registers)
    txn = f"{store.code}-{reg:02d}-{n:06d}"
    off = w.tz_off(store.tz, s.t)
    local = timefmt.local(s.t, off)
    loyalty = p.loyalty_cards[d.below(len(p.loyalty_cards))] if (
        p.loyalty_cards and d.chance(0.75)) else ""
    r = d.u()
    pay = "card" if r < 0.65 else ("mobile" if r < 0.8 else "cash")
    shared = False
    token = ""
    if pay != "cash":
        shared = bool(p.shared_card) and d.chance(0.3)
        token = p.shared_card if shared else p.cards[d.below(len(p.cards))]
    if loyalty or token:
        w.identity("pos", txn, p.pid, shared and not loyalty)
    disc, which = w.promo_today["store"]
    # nightly export: lands after local midnight
    local_t = s.t + off * 60
    arrival = (local_t // DAY + 1) * DAY - off * 60 + 2 * 3600 + d.u() * 3600
    tgt = w.T[("pos", "transactions")]
    total = 0.0
    for k, (prod, qty) in enumerate(lines):
        c = int(cat.category[prod])
        price = float(cat.price[prod])
        pct = float(disc[c])
        unit = round(price * (1 - pct / 100.0), 2)
        line_disc = round((price - unit) * qty, 2)
        total += unit * qty
        promo = which[c].promo_id if pct and which[c] is not None else ""
        row = [txn, k + 1, store.code, f"R{reg:02d}", local, cat.pos_sku[prod], qty,
               f"{unit:.2f}", f"{line_disc:.2f}" if line_disc else "", promo, loyalty, token,
               pay]
        w.landing.csv(tgt, f"{txn}#{k + 1}", s.t, arrival + k * 0.001, row)
        if d.chance(w.return_prob(prod) * 0.6):
            w.agenda[eday + d.between(1, 14)].append(
                ("return", {"order_id": txn, "channel": "store", "prod": prod, "qty": qty,
                            "loc": loc, "unit": unit, "person": s.person}))
    if d.chance(0.03):
        w.agenda[eday + d.between(2, 10)].append(
            ("review", {"person": s.person, "prod": lines[0][0], "order_id": ""}))
    w.truth.add("orders", (txn, p.pid, "store", int(s.t * 1000), store.code,
                           sum(q for _, q in lines), round(total, 2), False, not loyalty))
    w.order_touchpoints(s.person, txn, s.t, "store")
    conversion_drivers(w, s, txn, "store")


def conversion_drivers(w: World, s: Session, order_id: str, order_channel: str) -> None:
    """Truth: what the purchase decision of this order's session was made of."""
    w.truth.add("conversion_drivers", (
        order_id, w.persons[s.person].pid, order_channel, s.source, s.campaign, s.ad_campaign,
        s.ad_network, s.p_buy, s.p_no_ads, s.p_no_email))
