"""Normalisers for identifiers, as pure polars expressions (vectorised, no Python per row).

Identity resolution compares these values for equality, so each one maps the many ways a person
types the same thing onto one spelling: e-mail by the provider's own delivery rules, US phones
to E.164, names and addresses to one case and one set of abbreviations. A value that cannot be
normalised (no ``@``, too few digits) becomes null rather than a half-cleaned guess.
"""

from __future__ import annotations

import polars as pl

# Providers that ignore dots in the local part (and treat googlemail as gmail).
_DOTLESS = ("gmail.com", "googlemail.com")

# USPS street suffixes and unit designators: every spelling -> the standard abbreviation.
ADDRESS_WORDS: dict[str, str] = {
    "STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVN": "AVE", "ROAD": "RD",
    "BOULEVARD": "BLVD", "BOUL": "BLVD", "DRIVE": "DR", "DRV": "DR", "LANE": "LN",
    "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY", "HIGHWAY": "HWY", "TERRACE": "TER",
    "CIRCLE": "CIR", "SQUARE": "SQ", "TRAIL": "TRL", "WAY": "WAY", "APARTMENT": "APT",
    "UNIT": "APT", "SUITE": "STE", "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
}

_ADDRESS_MAP = {w: a for w, a in ADDRESS_WORDS.items() if w != a}
assert not set(_ADDRESS_MAP.values()) & set(_ADDRESS_MAP)


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() > 0).then(e)


def email(e: pl.Expr) -> pl.Expr:
    """Lower-case; gmail/googlemail: drop dots and ``+tag`` (domain -> gmail.com); others: drop
    ``+tag``. Null when it is not ``local@domain``."""
    s = e.str.strip_chars().str.to_lowercase()
    valid = s.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    local = s.str.extract(r"^([^@]+)@", 1).str.replace(r"\+.*$", "")
    domain = s.str.extract(r"@(.+)$", 1)
    dotless = domain.is_in(_DOTLESS)
    local = pl.when(dotless).then(local.str.replace_all(".", "", literal=True)).otherwise(local)
    domain = pl.when(dotless).then(pl.lit("gmail.com")).otherwise(domain)
    out = pl.when(valid & (local.str.len_chars() > 0)).then(local + "@" + domain)
    return out


def phone(e: pl.Expr, default_country_code: str = "1") -> pl.Expr:
    """E.164 (``+14155550123``). Numbers without ``+`` are national numbers of the default region
    (US: 10 digits, or 11 starting with the country code); ``00`` is the international prefix;
    an extension (``x12``, ``ext. 12``) is dropped. Anything else is null."""
    s = e.str.strip_chars().str.to_lowercase().str.replace(r"\s*(?:ext\.?|x|#)\s*\d+$", "")
    international = s.str.starts_with("+") | s.str.starts_with("00")
    digits = s.str.replace_all(r"[^0-9]", "")
    digits = pl.when(s.str.starts_with("00")).then(digits.str.slice(2)).otherwise(digits)
    n = digits.str.len_chars()
    cc = default_country_code
    national = (
        pl.when(n == 10).then(pl.lit("+" + cc) + digits)
        .when((n == 10 + len(cc)) & digits.str.starts_with(cc)).then(pl.lit("+") + digits)
    )
    foreign = pl.when((n >= 8) & (n <= 15)).then(pl.lit("+") + digits)
    ok = s.str.contains(r"^[+0-9()\-.\s/]+$")
    return pl.when(ok & international).then(foreign).when(ok).then(national)


def name(e: pl.Expr) -> pl.Expr:
    """Trimmed, inner whitespace collapsed, title-cased (``" JOHN  smith "`` -> ``John Smith``)."""
    s = e.str.strip_chars().str.replace_all(r"\s+", " ").str.to_titlecase()
    return _blank_to_null(s)


def address_line(e: pl.Expr) -> pl.Expr:
    """Upper case, punctuation (``.`` ``,``) dropped, whitespace collapsed, ``#4`` -> ``APT 4``,
    street suffixes and unit words in their USPS abbreviation (``Street`` -> ``ST``)."""
    s = (e.str.to_uppercase().str.replace_all(r"[.,]", " ")
         .str.replace_all(r"#\s*", " APT ").str.replace_all(r"\s+", " ").str.strip_chars())
    # whole words only (what ``\bWORD\b`` would match): split into word / non-word runs,
    # map the words in one pass, join again (no abbreviation is itself a spelling to map)
    s = s.str.extract_all(r"\w+|\W+").list.eval(pl.element().replace(_ADDRESS_MAP)).list.join("")
    return _blank_to_null(s)


def postcode(e: pl.Expr) -> pl.Expr:
    """Trimmed and upper-cased; a US ZIP+4 (``02127-1234``) keeps its five-digit ZIP."""
    s = e.str.strip_chars().str.to_uppercase().str.replace_all(r"\s+", " ")
    s = pl.when(s.str.contains(r"^\d{5}-?\d{4}$")).then(s.str.slice(0, 5)).otherwise(s)
    return _blank_to_null(s)


def city(e: pl.Expr) -> pl.Expr:
    return name(e)


def code(e: pl.Expr) -> pl.Expr:
    """Short codes (state, country, ids typed by hand): trimmed, upper case, blank -> null."""
    return _blank_to_null(e.str.strip_chars().str.to_uppercase())


def identifier(e: pl.Expr) -> pl.Expr:
    """Machine identifiers (cookie, device, card token, login id): trimmed, blank -> null."""
    return _blank_to_null(e.str.strip_chars())
