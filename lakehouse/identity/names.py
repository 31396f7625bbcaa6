"""Name keys and the one rule for "could these two names be the same person?".

Used wherever a shared identifier (a household card, a family tablet, a cookie that logged into
two accounts) may only join records whose names agree: a typo (a dropped, doubled or swapped
letter), a nickname (Bob for Robert), an initial (J. for John), first and last swapped, or a
review's "First L." display name. A one-letter substitution is not a typo here: between real
given names it is usually another person (Mark / Mary, Hall / Hill).
"""

from __future__ import annotations

import polars as pl

# common English given-name short forms -> the given name (upper case, letters only)
NICKNAMES: dict[str, str] = {
    "ABBY": "ABIGAIL", "ALEX": "ALEXANDER", "ANDY": "ANDREW", "DREW": "ANDREW",
    "TONY": "ANTHONY", "BELLA": "ISABELLA", "IZZY": "ISABELLA", "BEN": "BENJAMIN",
    "BENNY": "BENJAMIN", "CHUCK": "CHARLES", "CHARLIE": "CHARLES", "CHRIS": "CHRISTOPHER",
    "DAN": "DANIEL", "DANNY": "DANIEL", "DAVE": "DAVID", "ED": "EDWARD", "EDDIE": "EDWARD",
    "LIZ": "ELIZABETH", "BETH": "ELIZABETH", "BETTY": "ELIZABETH", "LIZZY": "ELIZABETH",
    "GREG": "GREGORY", "JIM": "JAMES", "JIMMY": "JAMES", "JAMIE": "JAMES", "JEN": "JENNIFER",
    "JENNY": "JENNIFER", "JESS": "JESSICA", "JESSIE": "JESSICA", "JOE": "JOSEPH",
    "JOEY": "JOSEPH", "JOSH": "JOSHUA", "KATE": "KATHERINE", "KATIE": "KATHERINE",
    "KATHY": "KATHERINE", "KEN": "KENNETH", "KENNY": "KENNETH", "KIM": "KIMBERLY",
    "LARRY": "LAWRENCE", "MAGGIE": "MARGARET", "MEG": "MARGARET", "PEGGY": "MARGARET",
    "MATT": "MATTHEW", "MIKE": "MICHAEL", "MIKEY": "MICHAEL", "NICK": "NICHOLAS",
    "PAT": "PATRICIA", "PATTY": "PATRICIA", "RICK": "RICHARD", "RICH": "RICHARD",
    "DICK": "RICHARD", "BOB": "ROBERT", "BOBBY": "ROBERT", "ROB": "ROBERT", "ROBBIE": "ROBERT",
    "SAM": "SAMUEL", "STEVE": "STEVEN", "STEPH": "STEPHANIE", "SUE": "SUSAN", "SUZY": "SUSAN",
    "TOM": "THOMAS", "TOMMY": "THOMAS", "BILL": "WILLIAM", "BILLY": "WILLIAM",
    "WILL": "WILLIAM", "TIM": "TIMOTHY", "VICKY": "VICTORIA",
}


def canonical_first(e: pl.Expr) -> pl.Expr:
    """A first name key (upper case letters) with a nickname replaced by its given name."""
    return e.replace(NICKNAMES)


def _typo_sql(a: str, b: str) -> str:
    """SQL: equal, or one letter dropped, doubled or two neighbours swapped (length >= 3)."""
    return (f"({a} = {b} or (least(length({a}), length({b})) >= 3 "
            f"and damerau_levenshtein({a}, {b}) = 1 "
            f"and (length({a}) <> length({b}) or list_sort(str_split({a}, '')) "
            f"= list_sort(str_split({b}, '')))))")


def compatible_sql(a: str, b: str) -> str:
    """SQL predicate over two aliases that each have ``fn`` (canonical first name key) and
    ``ln`` (last name key): the two names may belong to one person."""
    swapped = f"({a}.ln = {b}.fn and {a}.fn = {b}.ln)"
    last = (f"({_typo_sql(f'{a}.ln', f'{b}.ln')} or ((length({a}.ln) = 1 or length({b}.ln) = 1)"
            f" and left({a}.ln, 1) = left({b}.ln, 1)))")
    first = (f"({_typo_sql(f'{a}.fn', f'{b}.fn')} or ((length({a}.fn) = 1 or length({b}.fn) = 1)"
             f" and left({a}.fn, 1) = left({b}.fn, 1)))")
    return f"(({last} and {first}) or {swapped})"
