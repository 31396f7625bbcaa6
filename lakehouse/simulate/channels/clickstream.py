"""Web clickstream, app events, ad clicks and e-mail webhooks: the high-volume touch channels.

Web events carry cookie ids and client-local ISO times; app events camelCase, advertising
device ids and epoch milliseconds from a possibly skewed device clock; e-mail events epoch
seconds. An ad click's id reappears as ``gclid`` on the web landing event.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.channels import commerce
from lakehouse.simulate.marketing import AdCampaign
from lakehouse.simulate.products import CATEGORY_NAMES

if TYPE_CHECKING:
    from lakehouse.simulate.world import Session, World

SITE = "https://shop.example.com"
NET_SOURCE = {"search": "google", "social": "facebook", "display": "gdn"}
NET_REFERRER = {"search": "https://www.google.com/", "social": "https://www.facebook.com/",
                "display": "https://news.example.org/"}


def _schema_changed(w: World, eday: int) -> bool:
    day = w.cfg.schema_change_day
    return day is not None and eday - w.start_eday >= day


def ad_click(w: World, pi: int, camp: AdCampaign, t: float) -> str:
    d = w.d
    gclid = f"Cj0KCQiA{d.hex(24)}"
    cost = round(camp.cpc * (0.6 + 0.8 * d.u()), 2)
    w.ad_clicks_today[camp.campaign_id].append(cost)
    cat = CATEGORY_NAMES[camp.category]
    rec = {"click_id": gclid, "campaign_id": camp.campaign_id, "ad_group": d.pick(camp.ad_groups),
           "network": camp.network, "click_time": timefmt.iso_s(t),
           "landing_page": f"{SITE}/c/{cat}?gclid={gclid}",
           "device_type": d.pick(("desktop", "mobile", "mobile", "tablet")), "cost": cost}
    w.landing.json(w.T[("ads", "clicks")], gclid, t, t + 600 + d.u() * 3 * 3600, rec)
    return gclid


def email_campaign(w: World, eday: int) -> list[tuple[int, float, float, str, int]]:
    """Send one campaign to 35% of the list; returns (person, open t, click t, campaign, cat)."""
    d = w.d
    t0 = eday * timefmt.DAY
    cid = f"em-{timefmt.stamp(t0)}"
    cat = d.below(len(CATEGORY_NAMES))
    tgt = w.T[("email", "events")]
    out = []
    k = 0
    for pi, p in enumerate(w.persons):
        if not p.subscribed:
            continue
        for addr in list(p.subscribed):
            if not d.chance(0.35):
                continue
            k += 1
            t = t0 + 14 * 3600 + k * 0.05

            def send(event: str, ts: float, url: str = "", ua: str = "", addr: str = addr) -> None:
                rec = {"sg_event_id": d.hex(22), "event": event, "email": addr,
                       "timestamp": int(ts), "campaign_id": cid}
                if url:
                    rec["url"] = url
                if ua:
                    rec["useragent"] = ua
                w.landing.json(tgt, rec["sg_event_id"], ts, ts + 1 + d.u() * 60, rec)

            w.identity("email", addr, p.pid)
            send("processed", t)
            if d.chance(0.03):
                continue  # bounced: no further events
            send("delivered", t + 1 + d.u() * 20)
            t_open = t_click = math.nan
            if d.chance(0.25):
                t_open = t + 60 + d.u() * 8 * 3600
                ua = d.pick(names.USER_AGENTS)
                send("open", t_open, ua=ua)
                if d.chance(0.25):
                    t_click = t_open + 5 + d.u() * 60
                    url = (f"{SITE}/c/{CATEGORY_NAMES[cat]}?utm_source=newsletter"
                           f"&utm_medium=email&utm_campaign={cid}")
                    send("click", t_click, url=url, ua=ua)
                elif d.chance(0.02):
                    send("unsubscribe", t_open + 10)
                    p.subscribed.remove(addr)
            out.append((pi, t_open, t_click, cid, cat))
    return out


def web_session(w: World, s: Session, eday: int) -> None:
    d, cfg = w.d, w.cfg
    p = w.persons[s.person]
    cat = w.catalog
    tgt = w.T[("web", "events")]
    shared = bool(p.shared_cookie) and d.chance(0.3)
    if shared:
        cookie = p.shared_cookie
        w.identity("web", cookie, w.owner(cookie), True)
    else:
        b = d.below(len(p.cookies))
        if d.chance(cfg.cookie_reset_rate):
            p.cookies[b] = f"GA1.2.{d.digits(10)}.{int(s.t)}"
        cookie = p.cookies[b]
        w.identity("web", cookie, p.pid)
    ua = names.USER_AGENTS[int(cookie[6:16]) % len(names.USER_AGENTS)]
    session_id = d.hex(16)
    off = w.tz_off(w.pop.tz[s.person], s.t)
    consent = ("granted" if d.chance(0.8) else "denied") if _schema_changed(w, eday) else None
    state = {"user": None}
    if s.source in ("organic", "direct"):
        w.touch(s.person, s.t, s.source, "")

    def ev(etype: str, t: float, url: str, extra: dict | None = None) -> None:
        e = {"event_id": d.uuid(), "event_type": etype, "ts": timefmt.iso(t, off),
             "cookie_id": cookie, "session_id": session_id}
        if state["user"]:
            e["user_id"] = state["user"]
        e["page_url"] = url
        if extra:
            e.update(extra)
        e["user_agent"] = ua
        if consent:
            e["consent"] = consent
        w.landing.json(tgt, e["event_id"], t, t + 0.2 + d.u() * 5, e)

    t = s.t
    main_cat = CATEGORY_NAMES[cat.category[s.products[0]]]
    landing = {}
    if s.source == "ads":
        camp = next(c for c in w.campaigns if c.campaign_id == s.campaign)
        landing = {"referrer": NET_REFERRER[camp.network], "utm_source": NET_SOURCE[camp.network],
                   "utm_medium": "cpc", "utm_campaign": s.campaign, "gclid": s.gclid}
        landing_url = f"/c/{main_cat}"
    elif s.source == "email":
        landing = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": s.campaign}
        landing_url = f"/c/{main_cat}"
    elif s.source == "organic":
        landing = {"referrer": "https://www.google.com/"}
        landing_url = f"/p/{cat.variant[s.products[0]]}"
    else:
        landing_url = "/"
    ev("page_view", t, landing_url, landing)
    account = None
    if p.accounts and d.chance(0.4):
        account = p.accounts[-1]
        t += 5 + d.u() * 30
        state["user"] = account["id"]
        ev("login", t, "/account/login")
    if d.chance(0.3):
        t += 5 + d.u() * 40
        q = f"{d.pick(names.SEARCH_WORDS)} {cat.subcategory[s.products[0]]}"
        ev("search", t, f"/search?q={q.replace(' ', '+')}", {"search_query": q})
    for prod in s.products:
        t += 5 + d.u() * 90
        ev("product_view", t, f"/p/{cat.variant[prod]}", {"variant_id": cat.variant[prod]})
    if s.buy:
        times = [t + 10 * (k + 1) + d.u() * 60 for k in range(len(s.products) + 2)]
        landing_site = landing_url
        if landing.get("utm_campaign"):
            landing_site += (f"?utm_source={landing['utm_source']}&utm_medium="
                             f"{landing['utm_medium']}&utm_campaign={landing['utm_campaign']}")
        order = commerce.online_order(w, s, times[-1], "web", cookie, account,
                                      landing_site, eday)
        if order is None:
            return  # everything wanted was out of stock: the shopper leaves
        if order["account"] and not state["user"]:
            t_login = times[0] - 3
            state["user"] = order["account"]["id"]
            ev("login", t_login, "/account/login")
        for k, (prod, qty) in enumerate(order["lines"]):
            ev("add_to_cart", times[k], f"/p/{cat.variant[prod]}",
               {"variant_id": cat.variant[prod], "quantity": qty})
        ev("checkout", times[-2], "/checkout")
        ev("purchase", times[-1], "/checkout/thank-you", {"order_id": order["id"]})
    elif d.chance(0.25):
        prod = s.products[0]
        t += 10 + d.u() * 60
        ev("add_to_cart", t, f"/p/{cat.variant[prod]}",
           {"variant_id": cat.variant[prod], "quantity": 1})
        if d.chance(0.4):
            ev("remove_from_cart", t + 20 + d.u() * 60, "/cart",
               {"variant_id": cat.variant[prod], "quantity": 1})


def app_session(w: World, s: Session, eday: int) -> None:
    d = w.d
    p = w.persons[s.person]
    cat = w.catalog
    tgt = w.T[("app", "events")]
    shared = bool(p.shared_device) and d.chance(0.3)
    if shared:
        device, ios, skew = p.shared_device, True, 0
        w.identity("app", device, w.owner(device), True)
    else:
        device, ios, skew = p.device, p.ios, p.skew_ms
        w.identity("app", device, p.pid)
    platform = "ios" if ios else "android"
    version = f"5.{int(device[-2:], 16) % 8}.{int(device[-3], 16) % 3}"
    session_id = d.hex(12)
    offline = d.chance(0.05)
    push = (int(device[-1], 16) % 3 != 0) if _schema_changed(w, eday) else None
    state = {"user": None}
    # an app opened from a fresh e-mail (deep link) carries the campaign
    recent = w.touches.get(s.person)
    campaign = ""
    if recent and recent[-1][1] == "email" and s.t - recent[-1][0] < 6 * 3600:
        campaign = recent[-1][2]
    w.touch(s.person, s.t, "direct", "")

    def ev(name: str, t: float, screen: str, extra: dict | None = None) -> None:
        lag = 3600 + d.u() * 11 * 3600 if offline else 0.5 + d.u() * 30
        received = t + lag
        e = {"eventId": d.uuid(), "eventName": name,
             "eventTimestamp": int(t * 1000) + skew, "receivedTimestamp": int(received * 1000),
             "deviceId": device, "sessionId": session_id}
        if state["user"]:
            e["userId"] = state["user"]
        e["platform"] = platform
        e["appVersion"] = version
        e["screenName"] = screen
        if extra:
            e.update(extra)
        if campaign:
            e["campaignId"] = campaign
        if push is not None:
            e["pushOptIn"] = push
        w.landing.json(tgt, e["eventId"], t, received, e)

    t = s.t
    ev("screen_view", t, "Home")
    account = None
    if p.accounts and d.chance(0.6):
        account = p.accounts[-1]
        state["user"] = account["id"]
        t += 3 + d.u() * 10
        ev("login", t, "Login")
    if d.chance(0.3):
        t += 5 + d.u() * 30
        ev("search", t, "Search", {"searchTerm": cat.subcategory[s.products[0]]})
    for prod in s.products:
        t += 5 + d.u() * 60
        ev("product_view", t, "ProductDetail", {"variantId": cat.variant[prod]})
    if s.buy:
        times = [t + 8 * (k + 1) + d.u() * 40 for k in range(len(s.products) + 2)]
        order = commerce.online_order(w, s, times[-1], "app", device, account, "", eday)
        if order is None:
            return
        if order["account"] and not state["user"]:
            state["user"] = order["account"]["id"]
            ev("login", times[0] - 2, "Login")
        for k, (prod, qty) in enumerate(order["lines"]):
            ev("add_to_cart", times[k], "ProductDetail",
               {"variantId": cat.variant[prod], "quantity": qty})
        ev("checkout", times[-2], "Checkout")
        ev("purchase", times[-1], "OrderConfirmation", {"orderId": order["id"]})
    elif d.chance(0.2):
        prod = s.products[0]
        ev("add_to_cart", t + 10, "ProductDetail", {"variantId": cat.variant[prod], "quantity": 1})
