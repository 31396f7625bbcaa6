"""Normalisers for identifiers, as pure functions of a polars Series. Series, not expressions:
a normaliser reuses its intermediate results (the trimmed text, the digits) in several
branches, and polars evaluates an expression tree without sharing them.

Identity resolution compares these values for equality, so each one maps the many ways a person
types the same thing onto one spelling: e-mail by the provider's own delivery rules, phone
numbers to E.164 by libphonenumber's numbering plans (``phonenumbers``), US postal address
lines parsed by ``usaddress`` and rebuilt with USPS Publication 28 abbreviations, names to one
case. A value that cannot be normalised (no ``@``, not a possible phone number) becomes null
rather than a half-cleaned guess.

Phone numbers and address lines go through a parser in Python, one call per value: each
normaliser first folds the spellings that cannot differ in meaning (case, spacing, separators)
with vectorised string operations and then parses each distinct remaining spelling once.
Both libraries are imported on first use, so a run that normalises no phone pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache

import polars as pl

# Providers that ignore dots in the local part (and treat googlemail as gmail).
_DOTLESS = ("gmail.com", "googlemail.com")

# USPS Publication 28 (Postal Addressing Standards), a public standard: street suffixes
# (appendix C1: the primary name and its common spellings -> the standard abbreviation) ...
STREET_SUFFIXES: dict[str, str] = {
    "ALLEY": "ALY", "ALLEE": "ALY", "ALLY": "ALY", "ANNEX": "ANX", "ANEX": "ANX",
    "ARCADE": "ARC", "AVENUE": "AVE", "AV": "AVE", "AVEN": "AVE", "AVENU": "AVE",
    "AVN": "AVE", "AVNUE": "AVE", "BAYOU": "BYU", "BAYOO": "BYU", "BEACH": "BCH",
    "BEND": "BND", "BLUFF": "BLF", "BLUF": "BLF", "BLUFFS": "BLFS", "BOTTOM": "BTM",
    "BOT": "BTM", "BOTTM": "BTM", "BOULEVARD": "BLVD", "BOUL": "BLVD", "BOULV": "BLVD",
    "BRANCH": "BR", "BRNCH": "BR", "BRIDGE": "BRG", "BRDGE": "BRG", "BROOK": "BRK",
    "BROOKS": "BRKS", "BURG": "BG", "BURGS": "BGS", "BYPASS": "BYP", "BYPA": "BYP",
    "BYPAS": "BYP", "BYPS": "BYP", "CAMP": "CP", "CMP": "CP", "CANYON": "CYN", "CANYN": "CYN",
    "CNYN": "CYN", "CAPE": "CPE", "CAUSEWAY": "CSWY", "CAUSWA": "CSWY", "CENTER": "CTR",
    "CEN": "CTR", "CENT": "CTR", "CENTR": "CTR", "CENTRE": "CTR", "CNTER": "CTR",
    "CNTR": "CTR", "CENTERS": "CTRS", "CIRCLE": "CIR", "CIRC": "CIR", "CIRCL": "CIR",
    "CRCL": "CIR", "CRCLE": "CIR", "CIRCLES": "CIRS", "CLIFF": "CLF", "CLIFFS": "CLFS",
    "CLUB": "CLB", "COMMON": "CMN", "COMMONS": "CMNS", "CORNER": "COR", "CORNERS": "CORS",
    "COURSE": "CRSE", "COURT": "CT", "CRT": "CT", "COURTS": "CTS", "COVE": "CV",
    "COVES": "CVS", "CREEK": "CRK", "CRESCENT": "CRES", "CRSENT": "CRES", "CRSNT": "CRES",
    "CREST": "CRST", "CROSSING": "XING", "CRSSNG": "XING", "CROSSROAD": "XRD",
    "CROSSROADS": "XRDS", "CURVE": "CURV", "DALE": "DL", "DAM": "DM", "DIVIDE": "DV",
    "DIV": "DV", "DVD": "DV", "DRIVE": "DR", "DRIV": "DR", "DRV": "DR", "DRIVES": "DRS",
    "ESTATE": "EST", "ESTATES": "ESTS", "EXPRESSWAY": "EXPY", "EXP": "EXPY", "EXPR": "EXPY",
    "EXPRESS": "EXPY", "EXPW": "EXPY", "EXTENSION": "EXT", "EXTN": "EXT", "EXTNSN": "EXT",
    "EXTENSIONS": "EXTS", "FALLS": "FLS", "FERRY": "FRY", "FRRY": "FRY", "FIELD": "FLD",
    "FIELDS": "FLDS", "FLAT": "FLT", "FLATS": "FLTS", "FORD": "FRD", "FORDS": "FRDS",
    "FOREST": "FRST", "FORESTS": "FRST", "FORGE": "FRG", "FORG": "FRG", "FORGES": "FRGS",
    "FORK": "FRK", "FORKS": "FRKS", "FORT": "FT", "FRT": "FT", "FREEWAY": "FWY",
    "FREEWY": "FWY", "FRWAY": "FWY", "FRWY": "FWY", "GARDEN": "GDN", "GARDN": "GDN",
    "GRDEN": "GDN", "GRDN": "GDN", "GARDENS": "GDNS", "GRDNS": "GDNS", "GATEWAY": "GTWY",
    "GATEWY": "GTWY", "GATWAY": "GTWY", "GTWAY": "GTWY", "GLEN": "GLN", "GLENS": "GLNS",
    "GREEN": "GRN", "GREENS": "GRNS", "GROVE": "GRV", "GROV": "GRV", "GROVES": "GRVS",
    "HARBOR": "HBR", "HARB": "HBR", "HARBR": "HBR", "HRBOR": "HBR", "HARBORS": "HBRS",
    "HAVEN": "HVN", "HEIGHTS": "HTS", "HT": "HTS", "HIGHWAY": "HWY", "HIGHWY": "HWY",
    "HIWAY": "HWY", "HIWY": "HWY", "HWAY": "HWY", "HILL": "HL", "HILLS": "HLS",
    "HOLLOW": "HOLW", "HLLW": "HOLW", "HOLLOWS": "HOLW", "HOLWS": "HOLW", "INLET": "INLT",
    "ISLAND": "IS", "ISLND": "IS", "ISLANDS": "ISS", "ISLNDS": "ISS", "ISLES": "ISLE",
    "JUNCTION": "JCT", "JCTION": "JCT", "JCTN": "JCT", "JUNCTN": "JCT", "JUNCTON": "JCT",
    "JUNCTIONS": "JCTS", "JCTNS": "JCTS", "KEY": "KY", "KEYS": "KYS", "KNOLL": "KNL",
    "KNOL": "KNL", "KNOLLS": "KNLS", "LAKE": "LK", "LAKES": "LKS", "LANDING": "LNDG",
    "LNDNG": "LNDG", "LANE": "LN", "LIGHT": "LGT", "LIGHTS": "LGTS", "LOAF": "LF",
    "LOCK": "LCK", "LOCKS": "LCKS", "LODGE": "LDG", "LDGE": "LDG", "LODG": "LDG",
    "LOOPS": "LOOP", "MANOR": "MNR", "MANORS": "MNRS", "MEADOW": "MDW", "MEADOWS": "MDWS",
    "MEDOWS": "MDWS", "MILL": "ML", "MILLS": "MLS", "MISSION": "MSN", "MISSN": "MSN",
    "MSSN": "MSN", "MOTORWAY": "MTWY", "MOUNT": "MT", "MNT": "MT", "MOUNTAIN": "MTN",
    "MNTAIN": "MTN", "MNTN": "MTN", "MOUNTIN": "MTN", "MTIN": "MTN", "MOUNTAINS": "MTNS",
    "MNTNS": "MTNS", "NECK": "NCK", "ORCHARD": "ORCH", "ORCHRD": "ORCH", "OVL": "OVAL",
    "OVERPASS": "OPAS", "PARKS": "PARK", "PRK": "PARK", "PARKWAY": "PKWY", "PARKWY": "PKWY",
    "PKWAY": "PKWY", "PKY": "PKWY", "PARKWAYS": "PKWY", "PKWYS": "PKWY", "PASSAGE": "PSGE",
    "PATHS": "PATH", "PIKES": "PIKE", "PINE": "PNE", "PINES": "PNES", "PLACE": "PL",
    "PLAIN": "PLN", "PLAINS": "PLNS", "PLAZA": "PLZ", "PLZA": "PLZ", "POINT": "PT",
    "POINTS": "PTS", "PORT": "PRT", "PORTS": "PRTS", "PRAIRIE": "PR", "PRR": "PR",
    "RADIAL": "RADL", "RAD": "RADL", "RADIEL": "RADL", "RANCH": "RNCH", "RANCHES": "RNCH",
    "RNCHS": "RNCH", "RAPID": "RPD", "RAPIDS": "RPDS", "REST": "RST", "RIDGE": "RDG",
    "RDGE": "RDG", "RIDGES": "RDGS", "RIVER": "RIV", "RVR": "RIV", "RIVR": "RIV",
    "ROAD": "RD", "ROADS": "RDS", "ROUTE": "RTE", "SHOAL": "SHL", "SHOALS": "SHLS",
    "SHORE": "SHR", "SHOAR": "SHR", "SHORES": "SHRS", "SHOARS": "SHRS", "SKYWAY": "SKWY",
    "SPRING": "SPG", "SPNG": "SPG", "SPRNG": "SPG", "SPRINGS": "SPGS", "SPNGS": "SPGS",
    "SPRNGS": "SPGS", "SPURS": "SPUR", "SQUARE": "SQ", "SQR": "SQ", "SQRE": "SQ",
    "SQU": "SQ", "SQUARES": "SQS", "SQRS": "SQS", "STATION": "STA", "STATN": "STA",
    "STN": "STA", "STRAVENUE": "STRA", "STRAV": "STRA", "STRAVEN": "STRA", "STRAVN": "STRA",
    "STRVN": "STRA", "STRVNUE": "STRA", "STREAM": "STRM", "STREME": "STRM", "STREET": "ST",
    "STRT": "ST", "STR": "ST", "STREETS": "STS", "SUMMIT": "SMT", "SUMIT": "SMT",
    "SUMITT": "SMT", "TERRACE": "TER", "TERR": "TER", "THROUGHWAY": "TRWY", "TRACE": "TRCE",
    "TRACES": "TRCE", "TRACK": "TRAK", "TRACKS": "TRAK", "TRK": "TRAK", "TRKS": "TRAK",
    "TRAFFICWAY": "TRFY", "TRAIL": "TRL", "TRAILS": "TRL", "TRLS": "TRL", "TRAILER": "TRLR",
    "TRLRS": "TRLR", "TUNNEL": "TUNL", "TUNEL": "TUNL", "TUNLS": "TUNL", "TUNNELS": "TUNL",
    "TUNNL": "TUNL", "TURNPIKE": "TPKE", "TRNPK": "TPKE", "TURNPK": "TPKE",
    "UNDERPASS": "UPAS", "UNION": "UN", "UNIONS": "UNS", "VALLEY": "VLY", "VALLY": "VLY",
    "VLLY": "VLY", "VALLEYS": "VLYS", "VIADUCT": "VIA", "VDCT": "VIA", "VIADCT": "VIA",
    "VIEW": "VW", "VIEWS": "VWS", "VILLAGE": "VLG", "VILL": "VLG", "VILLAG": "VLG",
    "VILLG": "VLG", "VILLIAGE": "VLG", "VILLAGES": "VLGS", "VILLE": "VL", "VISTA": "VIS",
    "VIST": "VIS", "VST": "VIS", "VSTA": "VIS", "WALKS": "WALK", "WELL": "WL",
    "WELLS": "WLS",
}
# ... directionals (section 233) ...
DIRECTIONALS: dict[str, str] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE",
    "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}
# ... and secondary unit designators (appendix C2).
UNIT_DESIGNATORS: dict[str, str] = {
    "APARTMENT": "APT", "BASEMENT": "BSMT", "BUILDING": "BLDG", "DEPARTMENT": "DEPT",
    "FLOOR": "FL", "FRONT": "FRNT", "HANGAR": "HNGR", "LOBBY": "LBBY", "LOWER": "LOWR",
    "OFFICE": "OFC", "PENTHOUSE": "PH", "ROOM": "RM", "SPACE": "SPC", "SUITE": "STE",
    "TRAILER": "TRLR", "UPPER": "UPPR",
    **{a: a for a in ("APT", "BSMT", "BLDG", "DEPT", "FL", "FRNT", "HNGR", "KEY", "LBBY",
                      "LOT", "LOWR", "OFC", "PH", "PIER", "REAR", "RM", "SIDE", "SLIP",
                      "SPC", "STOP", "STE", "TRLR", "UNIT", "UPPR")},
}
# Street address parts usaddress labels that the normal form keeps, in their order; a line
# with any other label (a recipient, a landmark, a city or ZIP typed into the line, an
# intersection) is not rebuilt from the parse.
_STREET_PARTS = (
    "AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix", "StreetNamePreModifier",
    "StreetNamePreDirectional", "StreetNamePreType", "StreetName", "StreetNamePostType",
    "StreetNamePostDirectional", "StreetNamePostModifier", "SubaddressType",
    "SubaddressIdentifier", "OccupancyType", "OccupancyIdentifier",
)
_UNIT_PARTS = ("SubaddressType", "SubaddressIdentifier", "OccupancyType", "OccupancyIdentifier")


def _when(mask: pl.Series, then: pl.Series, otherwise: pl.Series | None = None) -> pl.Series:
    """``when(mask).then(then).otherwise(otherwise)`` (null mask: otherwise; no otherwise:
    null) on already computed Series."""
    if otherwise is None:
        otherwise = pl.repeat(None, len(then), dtype=then.dtype, eager=True)
    return then.zip_with(mask.fill_null(False), otherwise)


def _blank_to_null(s: pl.Series) -> pl.Series:
    return _when(s.str.len_chars() > 0, s)


def _per_distinct(s: pl.Series, f: Callable[[str], str | None]) -> pl.Series:
    """``f`` (Python, one value at a time) applied to each distinct non-null value of ``s``
    once, mapped back onto every row (nulls stay null)."""
    distinct = s.drop_nulls().unique()
    mapped = pl.Series([f(v) for v in distinct.to_list()], dtype=pl.String)
    return s.replace_strict(distinct, mapped, default=None, return_dtype=pl.String)


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


def phone(e: pl.Series, default_region: str = "US") -> pl.Series:
    """E.164 (``+14155550123``) by libphonenumber's numbering plans: a number written with its
    country code (``+44 20 7946 0958``, ``011 44 ...`` from the US, ``0044 ...``: ``00`` is the
    international prefix in most of the world) or a national number of ``default_region`` (an
    ISO 3166 region code) in any common written shape; an extension (``x12``, ``ext. 12``,
    ``#12``) is dropped. Null when the text is no phone number of a possible length for its
    country (``12345``, a seven-digit local number, two numbers in one field).

    Possible, not valid: a number is kept when its length fits its country's plan, without
    checking that its area code or range is assigned today. Identity compares these values for
    equality and needs the same key for the same typed number from run to run; validity
    follows numbering-plan metadata that changes with every library release (new area codes,
    reassigned ranges), and a placeholder such as ``(123) 456-7890`` is the super-node guard's
    to catch (lakehouse.identity.deterministic), not a parser's."""
    # separators (spaces, dots, dashes, brackets) cannot change what the parser reads: fold
    # them first, so the many spellings of one number are parsed once
    key = e.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s.\-()]", "")
    return _per_distinct(key, _e164_parser(default_region))


# Distinct spellings parsed by the slow parsers are remembered (bounded): one build folds the
# same address and phone from several sources (an order's shipping address, its customer's,
# the loyalty member's), and each source normalises its own distinct values.
PARSED_KEPT = 1 << 16


@cache
def _e164_parser(region: str) -> Callable[[str], str | None]:
    import phonenumbers as pn  # on first use: ~0.1 s of import a micro-batch does not pay

    possible = pn.ValidationResult.IS_POSSIBLE  # not IS_POSSIBLE_LOCAL_ONLY (no area code)

    def e164(text: str) -> str | None:
        for t in (text, "+" + text[2:]) if text.startswith("00") else (text,):
            try:
                number = pn.parse(t, region)
            except pn.NumberParseException:
                continue
            if pn.is_possible_number_with_reason(number) == possible:
                return pn.format_number(number, pn.PhoneNumberFormat.E164)
        return None

    return lru_cache(maxsize=PARSED_KEPT)(e164)


def name(e: pl.Series) -> pl.Series:
    """Trimmed, inner whitespace collapsed, title-cased (``" JOHN  smith "`` -> ``John Smith``)."""
    return _blank_to_null(e.str.strip_chars().str.replace_all(r"\s+", " ").str.to_titlecase())


def address_line(e: pl.Series, parse: bool = True) -> pl.Series:
    """One spelling of a US-style address line: upper case, ``.`` and ``,`` dropped, whitespace
    collapsed, then parsed by ``usaddress`` (a CRF model trained on US addresses) into house
    number, street (pre/post directional and type), and unit, and rebuilt in that order with
    the USPS Publication 28 abbreviations: ``5922 Jefferson Place`` -> ``5922 JEFFERSON PL``,
    ``123 North Main Street, Apartment 4B`` -> ``123 N MAIN ST # 4B``. Only the parts the
    parser labels are abbreviated: ``Park`` in ``12 Park Avenue`` stays a street name.

    A unit is written ``# <id>`` whatever designator was typed (Apt, Unit, Suite, Floor,
    ``#``): the designator is how a person wrote it, the identifier is which unit (people
    write one flat as Apt 4, Unit 4 and #4), and ``#`` is Pub. 28's designator where the
    designator is not known. A line holding only a unit (an address line 2, ``Apt 4``)
    becomes ``# 4``; a PO box ``PO BOX <id>``.

    A line the parser does not read as one street address (a repeated part, a recipient, a
    city or landmark typed into the line, an intersection) keeps the rule-based form
    (:func:`_address_rules`), and so does every line with ``parse=False``: the rules cost
    ~5 us a line, the parser 75-170 us (~7-17 s per 100k distinct lines on one core; it runs
    in the batch run's identity inputs only, never in a micro-batch)."""
    key = (e.str.to_uppercase().str.replace_all(r"[.,]", " ").str.replace_all("#", " # ")
           .str.replace_all(r"\s+", " ").str.strip_chars())
    return _blank_to_null(_per_distinct(key, _standard_address if parse else _address_rules))


@lru_cache(maxsize=PARSED_KEPT)
def _standard_address(line: str) -> str:
    """``line`` (upper case, no ``.`` ``,``, single spaces) rebuilt from its usaddress parse,
    or by the rules when it is not one street address, a unit or a PO box."""
    import usaddress  # on first use

    try:
        parsed, kind = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return _address_rules(line)
    labels = set(parsed)
    if (kind == "Street Address" and labels <= set(_STREET_PARTS)
            and {"AddressNumber", "StreetName"} <= labels):
        return _rebuild(parsed, _STREET_PARTS)
    if kind == "Ambiguous" and labels and labels <= set(_UNIT_PARTS):
        return _rebuild(parsed, _UNIT_PARTS)
    if kind == "PO Box" and labels == {"USPSBoxType", "USPSBoxID"}:
        return "PO BOX " + parsed["USPSBoxID"].replace(" ", "")
    return _address_rules(line)


def _rebuild(parsed: dict[str, str], order: tuple[str, ...]) -> str:
    words = []
    for label in order:
        value = parsed.get(label)
        if value is None:
            continue
        if label in ("StreetNamePreDirectional", "StreetNamePostDirectional"):
            words.append(DIRECTIONALS.get(value, value))
        elif label == "StreetNamePostType":
            words.append(STREET_SUFFIXES.get(value, value))
        elif label == "SubaddressType":  # a building or wing: kept apart from the unit
            words.append(UNIT_DESIGNATORS.get(value, value))
        elif label == "OccupancyType":  # only without an identifier (``REAR``, ``PH``)
            if "OccupancyIdentifier" not in parsed:
                words.append(UNIT_DESIGNATORS.get(value, value))
        elif label == "OccupancyIdentifier":
            words.append("# " + value.replace("#", "").replace(" ", ""))
        elif label == "SubaddressIdentifier":
            words.append(value.replace("#", "").replace(" ", ""))
        else:
            words.append(value)
    return " ".join(words)


def _address_rules(line: str) -> str:
    """The rule-based form of a line the parser does not read (words as typed, upper case):
    directionals abbreviated; a street suffix abbreviated where a suffix stands (last, or
    before a directional or a unit); a designator before a line's last word -> ``#``."""
    words = line.split()
    out = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if (w in UNIT_DESIGNATORS or w == "#") and i + 2 == len(words):
            out.append("#")
        elif w in DIRECTIONALS:
            out.append(DIRECTIONALS[w])
        elif w in STREET_SUFFIXES and (nxt is None or nxt == "#" or nxt in DIRECTIONALS
                                       or nxt in UNIT_DESIGNATORS):
            out.append(STREET_SUFFIXES[w])
        else:
            out.append(w)
    return " ".join(out)


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
