"""How people type themselves into forms: the variants and typos identity resolution must undo.

Names (case, nicknames, initials, typos), e-mails (gmail dots and plus-tags, upper case),
US phones in every common shape, and addresses (Street/St/St., Apt/#/Unit, zip+4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.simulate import names
from lakehouse.simulate.dice import Dice

if TYPE_CHECKING:
    from lakehouse.simulate.people import Person


def typo(d: Dice, s: str) -> str:
    """One keyboard slip: swap, drop or double a letter."""
    if len(s) < 3:
        return s
    i = d.between(1, len(s) - 2)
    k = d.below(3)
    if k == 0:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if k == 1:
        return s[:i] + s[i + 1:]
    return s[:i] + s[i] + s[i:]


def typed_name(d: Dice, first: str, last: str, typo_rate: float) -> tuple[str, str]:
    if first in names.NICKNAMES and d.chance(0.25):
        first = names.NICKNAMES[first]
    r = d.u()
    if r < 0.08:
        first, last = first.upper(), last.upper()
    elif r < 0.14:
        first, last = first.lower(), last.lower()
    elif r < 0.17:
        first = first[0] + "."
    if d.chance(typo_rate):
        if d.chance(0.5):
            first = typo(d, first)
        else:
            last = typo(d, last)
    if d.chance(0.03):
        first = " " + first + " "
    return first, last


def typed_email(d: Dice, email: str, typo_rate: float) -> str:
    """Gmail dots and plus-tags, upper case, the odd typo: all still reach the same inbox."""
    local, dom = email.split("@", 1)
    if dom == "gmail.com":
        r = d.u()
        if r < 0.2:
            local = local.replace(".", "")
        elif r < 0.35 and len(local) > 3 and "." not in local:
            j = d.between(1, len(local) - 1)
            local = local[:j] + "." + local[j:]
        if d.chance(0.15):
            local = f"{local}+{d.pick(('shop', 'deals', 'store', 'news'))}"
    r = d.u()
    if r < 0.08:
        local, dom = local.upper(), dom.upper()
    elif r < 0.15:
        local = local[:1].upper() + local[1:]
    if d.chance(typo_rate):
        local = typo(d, local)
    return f"{local}@{dom}"


def typed_phone(d: Dice, p: Person) -> str:
    a, line = p.area, p.line
    k = d.below(6)
    return (f"({a}) 555-{line}", f"{a}.555.{line}", f"+1 {a} 555 {line}", f"{a}555{line}",
            f"{a}-555-{line}", f"1-{a}-555-{line}")[k]


def typed_address(d: Dice, p: Person, typo_rate: float) -> tuple[str, str, str]:
    """(line1, line2, zip) as typed: Street/St/St., Apt/#/Unit, zip or zip+4."""
    full, short = p.street_type
    k = d.below(4)
    stype = (full, short, short + ".", full.upper())[k]
    street = p.street.upper() if k == 3 else p.street
    line1 = f"{p.street_no} {street} {stype}"
    if d.chance(typo_rate):
        line1 = typo(d, line1)
    line2 = ""
    if p.apt:
        line2 = (f"Apt {p.apt}", f"#{p.apt}", f"Unit {p.apt}", f"APT {p.apt}")[d.below(4)]
        if d.chance(0.3):
            line1, line2 = f"{line1} {line2}", ""
    zip_ = p.zip5 if d.chance(0.85) else f"{p.zip5}-{d.between(1000, 9999)}"
    return line1, line2, zip_
