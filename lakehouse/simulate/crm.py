"""Identifier-free customer exports: what a CRM, a loyalty scheme or a store sign-up sheet hands
over, with names, addresses and dates of birth only (no e-mail, phone, login, card or device).

Why: in the default simulation most records share an e-mail, phone, card or login, so a
resolver scores well without ever weighing a name. Real customer files often carry none of
those. This mode puts the whole load on name + address + date of birth, over the simulator's own
population (the persons ``simulate`` writes for the same config: households of one surname at
one address with different first names and dobs, plus the odd twin), typed with the simulator's
variants (nicknames, initials, case, Street/St/St., Apt/#/Unit, zip+4) and the errors public
record-linkage benchmarks (FEBRL) contain: one-letter substitutions, insertions, deletions and
transpositions in names and streets, first and last name swapped, missing dob / address line 2 /
postcode, dob with day and month swapped or one digit off, postcodes with spaces, and a share of
duplicates typed at the address the person lived at before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.dice import Dice
from lakehouse.simulate.identity import typed_address, typed_name
from lakehouse.simulate.locations import build_locations
from lakehouse.simulate.people import Person, build_population
from lakehouse.simulate.products import build_catalog

SOURCES = ("crm", "loyalty", "store_signup")
RECORD_COLUMNS = ("record_id", "source", "first_name", "last_name", "address_line1",
                  "address_line2", "city", "postcode", "state", "country", "date_of_birth")
TRUTH_COLUMNS = ("source", "record_id", "person_id", "household_id")

TWIN_SHARE = 0.05  # multi-person households whose second member is the first one's twin
MOVED_SHARE = 0.05  # repeat records typed at the person's previous address
SWAP_NAMES = 0.02  # first and last name entered the wrong way round
NO_FIRST = 0.02  # first name left blank
NO_DOB = 0.20  # dob left blank (an optional field on most forms)
DOB_DAY_MONTH = 0.02  # day and month swapped (dd/mm vs mm/dd)
DOB_DIGIT = 0.02  # one digit of the dob off by one
NO_ADDRESS = 0.05  # no address at all (a store sign-up without it)
NO_LINE2 = 0.20  # apartment left out
NO_POSTCODE = 0.05
SPACED_POSTCODE = 0.05  # " 02127", "02127 ", "02127 1234"
NO_CITY = 0.03
NO_STATE = 0.05
_TYPING_STREAM = 1409  # the record typing's own random stream, next to the world's

# QWERTY neighbours: a substitution slip hits a key next to the right one
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {c: "".join(r[j] for j in (i - 1, i + 1) if 0 <= j < len(r))
         + "".join(o[i] for o in _ROWS if o is not r and i < len(o))
         for r in _ROWS for i, c in enumerate(r)}


def population(config: SimConfig) -> list[Person]:
    """The persons ``simulate(config)`` builds, drawn the way ``World`` draws them (locations and
    catalog first, on the same streams), so person and household ids match its truth."""
    seq = np.random.SeedSequence(config.seed)
    world_seq, ids_seq = seq.spawn(2)
    rng = np.random.default_rng(world_seq)
    d = Dice(np.random.default_rng(ids_seq))
    stores = build_locations(config, d)[config.warehouses:]
    build_catalog(config, rng, d, timefmt.epoch_day(config.start))
    zi = {z: i for i, z in enumerate(names.ZONES)}
    return build_population(config, rng, d, [zi[s.zone] for s in stores],
                            [names.ZONE_POS[s.zone] for s in stores]).persons


def edit(d: Dice, s: str) -> str:
    """One FEBRL-style slip: substitute a neighbouring key, insert, delete or transpose."""
    if len(s) < 2:
        return s
    i = d.below(len(s))
    k = d.below(4)
    if k == 0 and s[i].lower() in _NEAR:
        c = d.pick(_NEAR[s[i].lower()])
        return s[:i] + (c.upper() if s[i].isupper() else c) + s[i + 1:]
    if k == 1:
        c = d.pick(_NEAR.get(s[i].lower(), "e"))
        return s[:i] + (c.upper() if s[i].isupper() else c) + s[i:]
    if k == 2:
        return s[:i] + s[i + 1:]
    i = min(i, len(s) - 2)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def typed_dob(d: Dice, dob: dt.date) -> str | None:
    """ISO date as entered: blank, day and month swapped, one digit off by one, or right."""
    if d.chance(NO_DOB):
        return None
    if dob.day <= 12 and dob.day != dob.month and d.chance(DOB_DAY_MONTH):
        return dt.date(dob.year, dob.day, dob.month).isoformat()
    s = dob.isoformat()
    if d.chance(DOB_DIGIT):
        i = d.pick((2, 3, 5, 6, 8, 9))
        v = (int(s[i]) + d.pick((-1, 1))) % 10
        try:
            return dt.date.fromisoformat(f"{s[:i]}{v}{s[i + 1:]}").isoformat()
        except ValueError:
            return s
    return s


def _moved_from(d: Dice, p: Person) -> Person:
    """The same person at an address drawn afresh (where they lived before)."""
    city = d.below(len(names.CITIES))
    return dataclasses.replace(
        p, city=city, street_no=d.between(1, 9899), street=d.pick(names.STREETS),
        street_type=d.pick(names.STREET_TYPES),
        apt=str(d.between(1, 40)) if d.chance(0.3) else "",
        zip5=f"{names.CITIES[city][2]}{d.between(1, 99):02d}")


def _postcode(d: Dice, zip_: str) -> str | None:
    if d.chance(NO_POSTCODE):
        return None
    if d.chance(SPACED_POSTCODE):
        k = d.below(3)
        return (f" {zip_[:5]}", f"{zip_[:5]} ", f"{zip_[:5]} {d.between(1000, 9999)}")[k]
    return zip_


def _record(d: Dice, p: Person, typo_rate: float) -> tuple:
    """One hand-typed identifier-free record of ``p`` (no record id or source yet)."""
    first, last = typed_name(d, p.first, p.last, typo_rate)
    if d.chance(typo_rate):
        first = edit(d, first)
    if d.chance(typo_rate):
        last = edit(d, last)
    if d.chance(SWAP_NAMES):
        first, last = last, first
    fn: str | None = None if d.chance(NO_FIRST) else first
    dob = typed_dob(d, p.dob)
    if d.chance(NO_ADDRESS):
        return fn, last, None, None, None, None, None, None, dob
    a1, a2, zip_ = typed_address(d, p, typo_rate)
    if d.chance(typo_rate):
        a1 = edit(d, a1)
    city, state, *_ = names.CITIES[p.city]
    return (fn, last, a1, None if not a2 or d.chance(NO_LINE2) else a2,
            None if d.chance(NO_CITY) else (city.upper() if d.chance(0.1) else city),
            _postcode(d, zip_), None if d.chance(NO_STATE) else state,
            d.pick(("US", "US", "USA", None)), dob)


def crm_records(config: SimConfig, *, sources: Sequence[str] = SOURCES
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(records, truth)``: identifier-free customer records of ``config.persons`` persons.

    ``records`` has the columns of ``RECORD_COLUMNS`` (``lakehouse.identity.resolve``'s input
    schema without any identifier column; a blank field is null), raw as exported, not
    normalised. ``truth`` is ``source, record_id, person_id, household_id``. Every person has
    one record, plus repeats so that ``config.duplicate_share`` of all records belong to a person
    who already has one (repeats fall on persons at random, some get several); each record
    comes from one of ``sources`` at random and record ids are numbered in shuffled order, so
    neither the id nor the row order says whose it is. ``config.typo_rate`` is the chance of
    each kind of slip per field. Same config, same frames.
    """
    if not sources:
        raise ValueError("crm_records needs at least one source")
    persons = population(config)
    d = Dice(np.random.default_rng([config.seed, _TYPING_STREAM]))
    twins: set[int] = set()
    for i in range(1, len(persons)):
        a, b = persons[i - 1], persons[i]
        if a.household == b.household and i - 1 not in twins and d.chance(TWIN_SHARE):
            twins.add(i)
            b.dob, b.last = a.dob, a.last
            while b.first == a.first:  # no one names twins alike
                b.first = d.pick(names.FIRST_NAMES)
    n = len(persons)
    share = config.duplicate_share
    owners = list(range(n)) + [d.below(n) for _ in range(round(n * share / (1 - share)))]
    moved: dict[int, Person] = {}
    rows, truth = [], []
    for k, i in enumerate(owners):
        p = persons[i]
        if k >= n and d.chance(MOVED_SHARE):
            if i not in moved:
                moved[i] = _moved_from(d, p)
            p = moved[i]
        rows.append(_record(d, p, config.typo_rate))
        truth.append((p.pid, p.household))
    order = np.random.default_rng([config.seed, _TYPING_STREAM, 1]).permutation(len(rows))
    src = [sources[d.below(len(sources))] for _ in order]
    count = dict.fromkeys(sources, 0)
    ids = []
    for s in src:
        count[s] += 1
        ids.append(f"{s[:3].upper()}{count[s]:07d}")
    out_rows = [(ids[j], src[j], *rows[o]) for j, o in enumerate(order.tolist())]
    records = pl.DataFrame(out_rows, schema=dict.fromkeys(RECORD_COLUMNS, pl.String),
                           orient="row")
    t = [truth[o] for o in order.tolist()]
    truth_frame = pl.DataFrame({"source": src, "record_id": ids,
                                "person_id": [x[0] for x in t],
                                "household_id": [x[1] for x in t]})
    return records, truth_frame
