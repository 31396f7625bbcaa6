"""Normalisers for identifiers, as pure functions of a polars Series (vectorised, no Python
per row). Series, not expressions: a normaliser reuses its intermediate results (the trimmed
text, the digits) in several branches, and polars evaluates an expression tree without
sharing them, so the phone rule as one expression cleaned every number about 30 times.

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


def _when(mask: pl.Series, then: pl.Series, otherwise: pl.Series | None = None) -> pl.Series:
    """``when(mask).then(then).otherwise(otherwise)`` (null mask: otherwise; no otherwise:
    null) on already computed Series."""
    if otherwise is None:
        otherwise = pl.repeat(None, len(then), dtype=then.dtype, eager=True)
    return then.zip_with(mask.fill_null(False), otherwise)


def _blank_to_null(s: pl.Series) -> pl.Series:
    return _when(s.str.len_chars() > 0, s)


def email(e: pl.Series) -> pl.Series:
    """Lower-case; gmail/googlemail: drop dots and ``+tag`` (domain -> gmail.com); others: drop
    ``+tag``. Null when it is not ``local@domain``."""
    s = e.str.strip_chars().str.to_lowercase()
    valid = s.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    local = s.str.extract(r"^([^@]+)@", 1).str.replace(r"\+.*$", "")
    domain = s.str.extract(r"@(.+)$", 1)
    dotless = domain.is_in(_DOTLESS)
    local = _when(dotless, local.str.replace_all(".", "", literal=True), local)
    domain = _when(dotless, pl.repeat("gmail.com", len(s), eager=True), domain)
    return _when(valid & (local.str.len_chars() > 0), local + "@" + domain)


def phone(e: pl.Series, default_country_code: str = "1") -> pl.Series:
    """E.164 (``+14155550123``). Numbers without ``+`` are national numbers of the default region
    (US: 10 digits, or 11 starting with the country code); ``00`` is the international prefix;
    an extension (``x12``, ``ext. 12``) is dropped. Anything else is null."""
    s = e.str.strip_chars().str.to_lowercase().str.replace(r"\s*(?:ext\.?|x|#)\s*\d+$", "")
    double_zero = s.str.starts_with("00")
    international = s.str.starts_with("+") | double_zero
    digits = s.str.replace_all(r"[^0-9]", "")
    digits = _when(double_zero, digits.str.slice(2), digits)
    n = digits.str.len_chars()
    cc = default_country_code
    national = _when(n == 10, ("+" + cc) + digits,
                     _when((n == 10 + len(cc)) & digits.str.starts_with(cc), "+" + digits))
    foreign = _when((n >= 8) & (n <= 15), "+" + digits)
    ok = s.str.contains(r"^[+0-9()\-.\s/]+$")
    return _when(ok & international, foreign, _when(ok, national))


def name(e: pl.Series) -> pl.Series:
    """Trimmed, inner whitespace collapsed, title-cased (``" JOHN  smith "`` -> ``John Smith``)."""
    return _blank_to_null(e.str.strip_chars().str.replace_all(r"\s+", " ").str.to_titlecase())


def address_line(e: pl.Series) -> pl.Series:
    """Upper case, punctuation (``.`` ``,``) dropped, whitespace collapsed, ``#4`` -> ``APT 4``,
    street suffixes and unit words in their USPS abbreviation (``Street`` -> ``ST``)."""
    s = (e.str.to_uppercase().str.replace_all(r"[.,]", " ")
         .str.replace_all(r"#\s*", " APT ").str.replace_all(r"\s+", " ").str.strip_chars())
    # whole words only (what ``\bWORD\b`` would match): split into word / non-word runs,
    # map the words in one pass, join again (no abbreviation is itself a spelling to map)
    s = s.str.extract_all(r"\w+|\W+").list.eval(pl.element().replace(_ADDRESS_MAP)).list.join("")
    return _blank_to_null(s)


def postcode(e: pl.Series) -> pl.Series:
    """Trimmed and upper-cased; a US ZIP+4 (``02127-1234``) keeps its five-digit ZIP."""
    s = e.str.strip_chars().str.to_uppercase().str.replace_all(r"\s+", " ")
    s = _when(s.str.contains(r"^\d{5}-?\d{4}$"), s.str.slice(0, 5), s)
    return _blank_to_null(s)


def city(e: pl.Series) -> pl.Series:
    return name(e)


def code(e: pl.Series) -> pl.Series:
    """Short codes (state, country, ids typed by hand): trimmed, upper case, blank -> null."""
    return _blank_to_null(e.str.strip_chars().str.to_uppercase())


def identifier(e: pl.Series) -> pl.Series:
    """Machine identifiers (cookie, device, card token, login id): trimmed, blank -> null."""
    return _blank_to_null(e.str.strip_chars())
