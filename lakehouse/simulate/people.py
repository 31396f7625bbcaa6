"""The population: persons, households, home locations, contact details and their devices.

Each person is one true human; what the channels see are typed, re-typed and shared fragments
of them (see ``identity``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from lakehouse.simulate import names
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.dice import Dice
from lakehouse.simulate.identity import typed_email


@dataclass
class Person:
    pid: str
    household: str
    first: str
    last: str
    dob: dt.date
    city: int  # index into names.CITIES
    street_no: int
    street: str
    street_type: tuple[str, str]
    apt: str  # "" or the apartment number
    zip5: str
    area: str
    line: str  # 4-digit phone line
    emails: list[str]  # base e-mail addresses (1-2)
    cards: list[str]  # payment card tokens
    ios: bool
    has_app: bool
    device: str  # own advertising id ("" without app)
    skew_ms: int  # app clock skew
    cookies: list[str]  # current cookie per browser
    home_store: int
    shared_device: str = ""  # household tablet ad id
    shared_cookie: str = ""
    shared_card: str = ""
    subscribed: list[str] = field(default_factory=list)  # addresses on the e-mail list
    accounts: list[dict] = field(default_factory=list)  # shop accounts as created
    loyalty_cards: list[str] = field(default_factory=list)
    records: int = 0  # customer records (accounts + loyalty memberships) that have appeared

    @property
    def phone10(self) -> str:
        return f"{self.area}555{self.line}"


@dataclass
class Population:
    persons: list[Person]
    rate: np.ndarray  # mean sessions per day
    pref: np.ndarray  # (n, 3) channel preference web, app, store
    ad_affinity: np.ndarray
    zone: np.ndarray  # zone index per person
    tz: list[str]


def _email_local(d: Dice, first: str, last: str) -> str:
    f, lt = first.lower(), last.lower().replace("'", "")
    style = d.below(5)
    if style == 0:
        return f"{f}.{lt}"
    if style == 1:
        return f"{f[0]}{lt}{d.between(1, 99)}"
    if style == 2:
        return f"{f}{lt}"
    if style == 3:
        return f"{f}_{lt}{d.between(70, 99)}"
    return f"{lt}.{f}{d.between(1, 9)}"


def _unique_address(taken: set[str], local: str, dom: str) -> str:
    """``local@dom``, or with the first free number appended when another person holds it
    (no dice thrown, so the rest of the world stays the same draw for draw)."""
    addr, k = f"{local}@{dom}", 1
    while addr in taken:
        k += 1
        addr = f"{local}{k}@{dom}"
    taken.add(addr)
    return addr


def build_population(cfg: SimConfig, rng: np.random.Generator, d: Dice,
                     store_zones: list[int], store_pos: list[tuple[int, int]]) -> Population:
    """Persons grouped into households; a share of households share a device and a card."""
    n = cfg.persons
    zone_idx = {z: i for i, z in enumerate(names.ZONES)}
    persons: list[Person] = []
    rate = rng.lognormal(np.log(cfg.sessions_per_person_day) - 0.5, 1.0, n)
    pref = rng.dirichlet((2.0, 1.2, 1.6), n)
    ad_aff = rng.beta(1.5, 6.0, n)
    zone = np.zeros(n, dtype=np.int64)
    tzs: list[str] = []
    nearest: dict[str, int] = {}
    i = 0
    hh = 0
    taken: set[str] = set()  # an address reaches one inbox: two people never share one
    while i < n:
        size = 1
        if d.chance(cfg.household_share):
            size = min(n - i, d.between(2, 4))
        hh += 1
        hid = f"H{hh:06d}"
        city = d.below(len(names.CITIES))
        _cname, _state, zprefix, tz, czone = names.CITIES[city]
        street_no = d.between(1, 9899)
        street = d.pick(names.STREETS)
        stype = d.pick(names.STREET_TYPES)
        apt = str(d.between(1, 40)) if d.chance(0.3) else ""
        zip5 = f"{zprefix}{d.between(1, 99):02d}"
        last = d.pick(names.LAST_NAMES)
        share = size > 1 and d.chance(cfg.shared_device_share)
        shared_dev = d.uuid(upper=True) if share else ""
        shared_ck = f"GA1.2.{d.digits(10)}.{1700000000 + d.below(60_000_000)}" if share else ""
        shared_card = f"tok_{d.hex(24)}" if share else ""
        zi = zone_idx[czone]
        best = nearest.get(czone)
        if best is None:  # nearest store: same zone first, else closest zone position
            zp = names.ZONE_POS[czone]
            best = nearest[czone] = min(range(len(store_zones)), key=lambda s: (
                store_zones[s] != zi,
                abs(store_pos[s][0] - zp[0]) + abs(store_pos[s][1] - zp[1]), s))
        for k in range(size):
            pid = f"P{i + 1:06d}"
            first = d.pick(names.FIRST_NAMES)
            plast = last if (k == 0 or d.chance(0.85)) else d.pick(names.LAST_NAMES)
            age = d.between(18, 80)
            dob = dt.date(cfg.start.year - age, d.between(1, 12), d.between(1, 28))
            n_mail = 2 if d.chance(0.35) else 1
            drawn = []
            for _ in range(n_mail):
                dom = d.pick(names.EMAIL_DOMAINS)
                drawn.append((_email_local(d, first, plast), dom))
            if len(drawn) == 2 and drawn[0] == drawn[1]:
                drawn.pop()
            emails = [_unique_address(taken, local, dom) for local, dom in drawn]
            ios = d.chance(0.55)
            has_app = bool(pref[i, 1] > 0.15)
            device = d.uuid(upper=ios) if has_app else ""
            skew = 0
            if has_app and d.chance(cfg.clock_skew_share):
                skew = int(rng.choice([-1, 1]) * d.between(120, 6 * 3600)) * 1000
                if d.chance(0.2):
                    skew *= 24  # clock set to the wrong day
            cookies = [f"GA1.2.{d.digits(10)}.{1700000000 + d.below(60_000_000)}"
                       for _ in range(1 + int(d.chance(0.4)))]
            cards = [f"tok_{d.hex(24)}" for _ in range(1 + int(d.chance(0.3)))]
            persons.append(Person(
                pid=pid, household=hid, first=first, last=plast, dob=dob, city=city,
                street_no=street_no, street=street, street_type=stype, apt=apt, zip5=zip5,
                area=str(d.between(201, 989)), line=f"{d.below(10000):04d}", emails=emails,
                cards=cards, ios=ios, has_app=has_app, device=device, skew_ms=skew,
                cookies=cookies, home_store=best, shared_device=shared_dev,
                shared_cookie=shared_ck, shared_card=shared_card,
            ))
            zone[i] = zi
            tzs.append(tz)
            i += 1
    for p in persons:
        if d.chance(0.6):
            p.subscribed = [typed_email(d, p.emails[0], 0.0)]
            if len(p.emails) > 1 and d.chance(0.5):
                p.subscribed.append(typed_email(d, p.emails[1], 0.0))
    return Population(persons, rate, pref, ad_aff, zone, tzs)
