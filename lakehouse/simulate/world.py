"""The retailer, one day at a time: demand, identity, stock, fulfilment, marketing, returns.

``World.run_day`` draws the day's touches and sessions with numpy (vectorised per day), then
walks them in event-time order so stock checks are causal: a wanted product out of stock at the
location is not sold (lost demand goes to the truth). Records are handed to ``Landing``, which
decides arrival; the truth is written as facts happen.

Why one module of ~450 lines: ``World`` is one class whose day steps share its state (stock,
dice, landing, open orders and returns) in a fixed causal order; split by method, the order
that makes stock checks causal would be spread over files that each touch the same state.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.channels import clickstream, commerce, operations
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.delivery import Landing, target
from lakehouse.simulate.dice import Dice
from lakehouse.simulate.inventory import Stock, initial_stock
from lakehouse.simulate.locations import build_locations, build_rates, zone_distance
from lakehouse.simulate.marketing import (
    build_ad_campaigns,
    build_promotions,
    promo_table,
    touch_lift,
)
from lakehouse.simulate.people import Person, build_population
from lakehouse.simulate.products import CATEGORY_NAMES, build_catalog, season_weights, weekend_lift
from lakehouse.simulate.truth import TruthWriter

DAY = 86400
HOUR = 3600
CH_WEB, CH_APP, CH_STORE = 0, 1, 2
# weekday multipliers (Mon..Sun) per channel: stores are busy at weekends
DOW = np.array([
    [1.00, 1.00, 1.00, 1.00, 1.05, 0.95, 0.95],  # web
    [0.95, 0.95, 0.95, 1.00, 1.05, 1.15, 1.15],  # app
    [0.80, 0.80, 0.85, 0.90, 1.10, 1.70, 1.45],  # store
])
BASE_CONV = np.array([0.11, 0.13, 0.60])
# local-time hour profile of web / app visits and ad clicks
WEB_HOURS = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 9, 8, 5, 3],
                     dtype=float)
TARGETS = {k: target(*k) for k in [
    ("web", "events"), ("app", "events"), ("orders", "orders"), ("pos", "transactions"),
    ("loyalty", "members"), ("wms", "movements"), ("suppliers", "purchase_orders"),
    ("email", "events"), ("ads", "clicks"), ("ads", "spend"), ("shipments", "shipments"),
    ("returns", "returns"), ("reviews", "reviews")]}


@dataclass
class Session:
    t: float
    person: int
    channel: int  # CH_WEB | CH_APP | CH_STORE
    products: list[int]
    buy: bool
    source: str  # organic | direct | ads | email | store
    campaign: str
    gclid: str
    loc: int  # store location index for store visits
    # the purchase decision as made (truth ``conversion_drivers``), set with ``buy``:
    ad_campaign: str = ""  # campaign of the latest ad touch the lift used ("" = none)
    ad_network: str = ""  # its network: search | social | display | ""
    p_buy: float = 0.0  # purchase probability used (after the cap)
    p_no_ads: float = 0.0  # the same with the ad lift removed (capped the same way)
    p_no_email: float = 0.0  # the same with the e-mail lift removed


class World:
    """All state of the simulated retailer; ``run_day`` advances it by one day."""

    def __init__(self, cfg: SimConfig, landing: Landing, truth: TruthWriter) -> None:
        self.cfg = cfg
        self.landing = landing
        self.truth = truth
        seq = np.random.SeedSequence(cfg.seed)
        world_seq, ids_seq = seq.spawn(2)
        self.rng = np.random.default_rng(world_seq)
        self.d = Dice(np.random.default_rng(ids_seq))
        self.start_eday = timefmt.epoch_day(cfg.start)
        self.t_start = self.start_eday * DAY
        self.T = TARGETS
        self.locations = build_locations(cfg, self.d)
        self.n_wh = cfg.warehouses
        self.loc_codes = [loc.code for loc in self.locations]
        self.rates = build_rates()
        self.rate_of = {(r.from_zone, r.to_zone, r.service): r for r in self.rates}
        self.catalog = build_catalog(cfg, self.rng, self.d, self.start_eday)
        stores = self.locations[self.n_wh:]
        zi = {z: i for i, z in enumerate(names.ZONES)}
        self.pop = build_population(cfg, self.rng, self.d, [zi[s.zone] for s in stores],
                                    [names.ZONE_POS[s.zone] for s in stores])
        self.persons: list[Person] = self.pop.persons
        no_app = np.array([not p.has_app for p in self.persons])
        self.pop.pref[no_app, CH_WEB] += self.pop.pref[no_app, CH_APP]
        self.pop.pref[no_app, CH_APP] = 0.0
        self.promos = build_promotions(cfg, self.d, self.start_eday)
        self.campaigns = build_ad_campaigns(self.d)
        self._shared_owner: dict[str, str] = {}
        for p in self.persons:
            for sid in (p.shared_device, p.shared_cookie, p.shared_card):
                if sid and sid not in self._shared_owner:
                    self._shared_owner[sid] = p.pid
        self.wh_order = []  # per zone index: warehouses nearest first
        for z in names.ZONES:
            self.wh_order.append(sorted(range(self.n_wh), key=lambda w, z=z: (
                zone_distance(self.locations[w].zone, z), w)))
        self.stock = self._initial_stock()
        self.season_cat_lift = weekend_lift()
        # per-person marketing state (UTC seconds of latest touch, -inf = never)
        n = cfg.persons
        self.last_ad = np.full(n, -np.inf)
        self.last_ad_camp = np.full(n, -1, dtype=np.int64)  # index into campaigns, -1 = none
        self._camp_index = {c.campaign_id: i for i, c in enumerate(self.campaigns)}
        self.last_email = np.full(n, -np.inf)
        self.touches: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
        self.seen: set[tuple[str, str]] = set()
        self.agenda: dict[int, list[tuple]] = defaultdict(list)
        self.ship_queue: list[list[dict]] = [[] for _ in range(self.n_wh)]
        self.cancelled_today: list[dict] = []
        self.seq_no = [0] * len(self.locations)
        self.counters: dict[str, int] = defaultdict(int)
        self.n_rec = 0  # customer records (accounts + loyalty) that appeared
        self.n_dup = 0  # ... of which the person already had another
        self.ad_clicks_today: dict[str, list[float]] = defaultdict(list)
        self.pending_loyalty: dict[int, int] = defaultdict(int)
        self._pick_cache: dict[tuple[int, int], tuple[list[int], np.ndarray, float]] = {}
        self.promo_today: dict[str, tuple[np.ndarray, list]] = {}
        self._plan_loyalty()

    # ------------------------------------------------------------------ setup
    def _initial_stock(self) -> Stock:
        cfg, cat = self.cfg, self.catalog
        n_loc = len(self.locations)
        rate, pref = self.pop.rate, self.pop.pref
        online = float(np.sum(rate * (pref[:, 0] * BASE_CONV[0] + pref[:, 1] * BASE_CONV[1])))
        share = np.zeros(len(cat))
        for c in range(len(CATEGORY_NAMES)):
            m = cat.category == c
            if m.any():
                share[m] = cat.popularity[m] / cat.popularity[m].sum() / len(CATEGORY_NAMES)
        exp = np.zeros((len(cat), n_loc))
        zone_w = np.bincount(self.pop.zone, minlength=len(names.ZONES)).astype(float)
        wh_w = np.zeros(self.n_wh)
        for zi, w in enumerate(zone_w):
            wh_w[self.wh_order[zi][0]] += w
        wh_w = wh_w / max(wh_w.sum(), 1.0)
        for w in range(self.n_wh):
            exp[:, w] = online * 1.5 * share * max(wh_w[w], 0.15)
        home = np.array([p.home_store for p in self.persons])
        for s in range(cfg.stores):
            store_rate = float(np.sum((rate * pref[:, 2])[home == s])) * BASE_CONV[2] * 1.6
            exp[:, self.n_wh + s] = store_rate * share + 0.02
        # warehouses also refill the stores
        exp[:, : self.n_wh] += exp[:, self.n_wh:].sum(axis=1, keepdims=True) / self.n_wh
        lead = np.array([cat.suppliers[int(s)].lead_days for s in cat.supplier], dtype=float)
        is_store = np.array([loc.kind == "store" for loc in self.locations])
        live = cat.launched <= self.start_eday
        st = initial_stock(exp * 1.4, lead, is_store, live)
        return st

    def _plan_loyalty(self) -> None:
        """Who joins the loyalty programme, how often (duplicates), and when."""
        cfg, d = self.cfg, self.d
        members = [i for i in range(cfg.persons) if d.chance(0.4)]
        extra_share = cfg.duplicate_share
        n_extra = round(len(members) * extra_share / max(1e-9, 1 - extra_share))
        plan = [(i, 0) for i in members]
        for k in range(n_extra):
            plan.append((members[d.below(len(members))], k + 1))
        self.loyalty_plan = plan

    def write_opening(self) -> None:
        """Loyalty members who joined before the start, and the opening stock count."""
        t = self.t_start
        for idx, (pi, _) in enumerate(self.loyalty_plan):
            if self.d.chance(0.7):
                ts = t - self.d.between(1, 1500) * DAY - self.d.between(0, DAY - 1)
                operations.loyalty_signup(self, pi, ts, arrival=t + 60 + idx * 0.001,
                                          store=-1 if self.d.chance(0.4) else None)
            elif self.d.chance(0.5):
                day = self.start_eday + self.d.below(max(1, self.cfg.days))
                self.agenda[day].append(("loyalty", pi))
            else:
                self.pending_loyalty[pi] += 1  # joins at a store visit
        cat = self.catalog
        for loc in range(len(self.locations)):
            for p in range(len(cat)):
                if cat.launched[p] <= self.start_eday:
                    operations.wms(self, loc, p, "CYCLE_COUNT", 0, int(self.stock.on_hand[p, loc]),
                                   "OPENING", t + 1)

    # ------------------------------------------------------------------ helpers
    def counter(self, name: str) -> int:
        self.counters[name] += 1
        return self.counters[name]

    def identity(self, source: str, record_id: str, person_id: str, shared: bool = False) -> None:
        """First sight of a record id: write whose it truly is (``shared``: household-shared)."""
        key = (source, record_id)
        if key in self.seen:
            return
        self.seen.add(key)
        self.truth.add("identity", (source, record_id, person_id, shared))

    def owner(self, shared_id: str) -> str:
        """The household member a shared device / cookie / card is registered to."""
        return self._shared_owner[shared_id]

    def customer_record(self, person: Person) -> None:
        self.n_rec += 1
        if person.records > 0:
            self.n_dup += 1
        person.records += 1

    def dup_ok(self) -> bool:
        return self.n_dup + 1 <= self.cfg.duplicate_share * (self.n_rec + 1)

    def need_dup(self) -> bool:
        return self.n_dup < self.cfg.duplicate_share * self.n_rec

    def return_prob(self, prod: int) -> float:
        """Return rate driven by product quality (poor products come back)."""
        return 0.03 + 0.4 * (1.0 - float(self.catalog.quality[prod])) ** 2

    def tz_off(self, tz: str, t: float) -> int:
        return timefmt.tz_offset_minutes(tz, int(t // DAY))

    def touch(self, pi: int, t: float, channel: str, campaign: str) -> None:
        self.touches[pi].append((t, channel, campaign))

    def order_touchpoints(self, pi: int, order_id: str, t: float, channel: str) -> None:
        hist = self.touches.get(pi)
        if not hist:
            return
        keep = [h for h in hist if h[0] > t - 30 * DAY]
        self.touches[pi] = keep
        pid = self.persons[pi].pid
        rows = [(order_id, pid, ch, camp, int(ts * 1000), int(t * 1000), channel)
                for ts, ch, camp in keep if ts <= t and ts > t - 14 * DAY]
        self.truth.extend("touchpoints", rows)

    # ------------------------------------------------------------------ the day
    def run_day(self, eday: int) -> None:
        t0 = eday * DAY
        self.stock.reset_day()
        self._pick_cache = {}
        self.ad_clicks_today = defaultdict(list)
        self.promo_today = {ch: promo_table(self.promos, eday, ch)
                            for ch in ("web", "app", "store")}
        sessions = self._touches_and_sessions(eday)
        sessions.sort(key=lambda s: (s.t, s.person))
        early = [s for s in sessions if s.t < t0 + 7 * HOUR]
        rest = [s for s in sessions if s.t >= t0 + 7 * HOUR]
        for s in early:
            self._session(s, eday)
        operations.morning(self, eday)
        for s in rest:
            self._session(s, eday)
        operations.evening(self, eday)
        self._truth_stock(eday)
        if eday % 7 == 0:  # keep memory bounded: touches older than the look-back are dead
            horizon = t0 - 30 * DAY
            for pi in list(self.touches):
                kept = [h for h in self.touches[pi] if h[0] > horizon]
                if kept:
                    self.touches[pi] = kept
                else:
                    del self.touches[pi]

    def _touches_and_sessions(self, eday: int) -> list[Session]:
        cfg, rng, d = self.cfg, self.rng, self.d
        t0 = eday * DAY
        n = cfg.persons
        dow = (eday + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        weekend = dow >= 5
        today_ad = np.full(n, np.nan)
        today_email = np.full(n, np.nan)
        today_ad_camp = np.full(n, -1, dtype=np.int64)
        sessions: list[Session] = []
        # ads: a click takes the person to the site (web) with a gclid
        p_ad = self.pop.ad_affinity * 0.05
        clickers = np.flatnonzero(rng.random(n) < p_ad)
        off = self._utc_offsets(t0)  # seconds to add to local wall time to get UTC
        hours = rng.choice(24, size=len(clickers), p=WEB_HOURS / WEB_HOURS.sum())
        for pi, h in zip(clickers.tolist(), hours.tolist(), strict=True):
            t = t0 + h * HOUR + d.u() * HOUR + off[pi]
            camp = d.pick(self.campaigns)
            gclid = clickstream.ad_click(self, pi, camp, t)
            today_ad[pi] = t
            today_ad_camp[pi] = self._camp_index[camp.campaign_id]
            self.touch(pi, t, "ads", camp.campaign_id)
            prods = self._pick_products_one(camp.category, eday, CH_WEB)
            sessions.append(Session(t + 2 + d.u() * 3, pi, CH_WEB, prods, False, "ads",
                                    camp.campaign_id, gclid, -1))
        # e-mail campaigns on Tuesdays and Fridays
        if dow in (1, 4):
            for pi, t_open, t_click, cid, cat in clickstream.email_campaign(self, eday):
                if not math.isnan(t_open):
                    today_email[pi] = t_open if math.isnan(today_email[pi]) else today_email[pi]
                    self.touch(pi, t_open, "email", cid)
                if not math.isnan(t_click):
                    prods = self._pick_products_one(cat, eday, CH_WEB)
                    sessions.append(Session(t_click + 2, pi, CH_WEB, prods, False, "email", cid,
                                            "", -1))
        # organic / direct sessions and store visits
        rate = self.pop.rate
        counts = [rng.poisson(rate * self.pop.pref[:, c] * DOW[c, dow]) for c in range(3)]
        season = season_weights(eday) * (self.season_cat_lift if weekend else 1.0)
        for ch in range(3):
            who = np.repeat(np.arange(n), counts[ch])
            if len(who) == 0:
                continue
            if ch == CH_STORE:
                home = np.array([self.persons[i].home_store for i in who.tolist()])
                other = rng.integers(0, cfg.stores, len(who))
                store = np.where(rng.random(len(who)) < 0.85, home, other)
                open_h = rng.uniform(9.0, 21.0, len(who))
                times = np.empty(len(who))
                for k, s in enumerate(store.tolist()):
                    tz = self.locations[self.n_wh + s].tz
                    times[k] = t0 + open_h[k] * HOUR - self.tz_off(tz, t0) * 60
            else:
                hours = rng.choice(24, size=len(who), p=WEB_HOURS / WEB_HOURS.sum())
                times = t0 + hours * HOUR + rng.random(len(who)) * HOUR + off[who]
                store = np.full(len(who), -1)
            chan = ("web", "app", "store")[ch]
            disc, _ = promo_table(self.promos, eday, chan)
            w = season * (1.0 + cfg.promo_lift_per_pct * disc)
            cats = rng.choice(len(CATEGORY_NAMES), size=len(who), p=w / w.sum())
            prods = self._pick_products(cats, eday)
            for k in range(len(who)):
                src = "store" if ch == CH_STORE else (
                    ("organic" if d.chance(0.5) else "direct") if ch == CH_WEB else "direct")
                extra = [prods[k]]
                if d.chance(0.3):  # a second item: same category or anything popular
                    same = int(cats[k]) if d.chance(0.5) else -1
                    extra.append(self._pick_products_one(same, eday, ch)[0])
                sessions.append(Session(float(times[k]), int(who[k]), ch, extra, False, src, "",
                                        "", int(store[k]) + self.n_wh if ch == CH_STORE else -1))
        # purchase decisions: base x touch lift x promo lift on the main product's category
        if sessions:
            pi = np.array([s.person for s in sessions])
            ts = np.array([s.t for s in sessions])
            ch = np.array([s.channel for s in sessions])
            main = np.array([s.products[0] for s in sessions])
            ad_today = today_ad[pi] <= ts
            ad_t = np.where(ad_today, today_ad[pi], self.last_ad[pi])
            ad_camp = np.where(ad_today, today_ad_camp[pi], self.last_ad_camp[pi])
            em_t = np.where(today_email[pi] <= ts, today_email[pi], self.last_email[pi])
            ad_t = np.where(np.isnan(ad_t), self.last_ad[pi], ad_t)
            em_t = np.where(np.isnan(em_t), self.last_email[pi], em_t)
            ad_lift = touch_lift((ts - ad_t) / DAY, cfg.ad_effect, cfg.ad_decay_days)
            em_lift = touch_lift((ts - em_t) / DAY, cfg.email_effect, cfg.email_decay_days)
            lift = 1.0 + ad_lift + em_lift
            promo = np.ones(len(sessions))
            for c, chan in enumerate(("web", "app", "store")):
                disc, _ = promo_table(self.promos, eday, chan)
                m = ch == c
                promo[m] = 1.0 + cfg.promo_lift_per_pct * disc[self.catalog.category[main[m]]]
            p_buy = np.minimum(BASE_CONV[ch] * lift * promo, 0.95)
            # counterfactuals for the truth: the same decision without one channel's lift
            p_no_ads = np.minimum(BASE_CONV[ch] * (1.0 + em_lift) * promo, 0.95)
            p_no_email = np.minimum(BASE_CONV[ch] * (1.0 + ad_lift) * promo, 0.95)
            buy = rng.random(len(sessions)) < p_buy
            camps = self.campaigns
            for s, b, ac, pb, pa, pe in zip(sessions, buy.tolist(), ad_camp.tolist(),
                                            p_buy.tolist(), p_no_ads.tolist(),
                                            p_no_email.tolist(), strict=True):
                s.buy = b
                if ac >= 0:
                    s.ad_campaign = camps[ac].campaign_id
                    s.ad_network = camps[ac].network
                s.p_buy, s.p_no_ads, s.p_no_email = pb, pa, pe
        upd = ~np.isnan(today_ad)
        self.last_ad[upd] = today_ad[upd]
        self.last_ad_camp[upd] = today_ad_camp[upd]
        upd = ~np.isnan(today_email)
        self.last_email[upd] = today_email[upd]
        return sessions

    def _utc_offsets(self, t0: float) -> np.ndarray:
        """Per person: seconds from local wall-clock time to UTC on this day (shoppers follow
        their own clock: evening peaks are local evenings)."""
        by_tz = {tz: -60.0 * self.tz_off(tz, t0) for tz in sorted(set(self.pop.tz))}
        return np.array([by_tz[tz] for tz in self.pop.tz])

    def _sellable(self, eday: int) -> np.ndarray:
        return self.catalog.launched <= eday

    def _pick_products(self, cats: np.ndarray, eday: int) -> list[int]:
        cat = self.catalog
        out = np.zeros(len(cats), dtype=np.int64)
        ok = self._sellable(eday)
        for c in range(len(CATEGORY_NAMES)):
            m = cats == c
            if not m.any():
                continue
            cand = np.flatnonzero((cat.category == c) & ok)
            if len(cand) == 0:
                cand = np.flatnonzero(ok)
            w = cat.popularity[cand]
            out[m] = self.rng.choice(cand, size=int(m.sum()), p=w / w.sum())
        return out.tolist()

    def _pick_products_one(self, c: int, eday: int, ch: int) -> list[int]:
        """One product of category ``c`` (-1: any) by popularity, among those on sale."""
        key = (c, eday)
        hit = self._pick_cache.get(key)
        if hit is None:
            cat = self.catalog
            ok = self._sellable(eday)
            cand = np.flatnonzero(ok if c < 0 else (cat.category == c) & ok)
            if len(cand) == 0:
                cand = np.flatnonzero(ok)
            cum = np.cumsum(cat.popularity[cand])
            hit = self._pick_cache[key] = (cand.tolist(), cum, float(cum[-1]))
        cand_l, cum, total = hit
        k = int(np.searchsorted(cum, self.d.u() * total, side="right"))
        return [cand_l[min(k, len(cand_l) - 1)]]

    def _session(self, s: Session, eday: int) -> None:
        if s.channel == CH_STORE:
            commerce.store_visit(self, s, eday)
        elif s.channel == CH_APP:
            clickstream.app_session(self, s, eday)
        else:
            clickstream.web_session(self, s, eday)

    def _truth_stock(self, eday: int) -> None:
        st = self.stock
        n_p, n_l = st.on_hand.shape
        assert (st.on_hand >= 0).all(), "true stock went negative"
        ids = self.catalog.ids
        self.truth.columns("stock_daily", {
            "product_id": np.repeat(np.array(ids), n_l), "location_id": self.loc_codes * n_p,
            "date": np.full(n_p * n_l, eday), "on_hand": st.on_hand.ravel(),
            "reserved": st.reserved.ravel()})
        dem, sold = st.demanded, st.sold
        nz = np.argwhere(dem > 0)
        self.truth.extend("demand_daily", [
            (ids[p], self.loc_codes[loc], eday, int(dem[p, loc]), int(sold[p, loc]),
             int(dem[p, loc] - sold[p, loc])) for p, loc in nz.tolist()])
