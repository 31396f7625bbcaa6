"""Fast timestamp formatting for the spec's time types, without datetime objects per event.

Simulated time is UTC epoch seconds (float). Formatting a million timestamps through datetime
is slow, so dates are cached per epoch day and the clock part is plain integer arithmetic.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = dt.date(1970, 1, 1)
DAY = 86400


def epoch_day(d: dt.date) -> int:
    return (d - EPOCH).days


def day_start(d: dt.date) -> int:
    """Epoch seconds of UTC midnight of date ``d``."""
    return epoch_day(d) * DAY


_DATES: dict[int, str] = {}


def date_str(eday: int) -> str:
    s = _DATES.get(eday)
    if s is None:
        s = _DATES[eday] = (EPOCH + dt.timedelta(days=eday)).isoformat()
    return s


@lru_cache(maxsize=100_000)
def tz_offset_minutes(tz: str, eday: int) -> int:
    """UTC offset of ``tz`` on epoch day ``eday`` (taken at 12:00 UTC, after US DST switches)."""
    moment = dt.datetime(1970, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=eday)
    off = moment.astimezone(ZoneInfo(tz)).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


_SUFFIX: dict[int, str] = {}


def _offset_suffix(off_min: int) -> str:
    s = _SUFFIX.get(off_min)
    if s is None:
        a = abs(off_min)
        s = "Z" if off_min == 0 else f"{'+' if off_min > 0 else '-'}{a // 60:02d}:{a % 60:02d}"
        _SUFFIX[off_min] = s
    return s


_HOUR_PREFIX: dict[tuple[int, int], tuple[str, str]] = {}


def iso(t: float, off_min: int = 0) -> str:
    """ISO-8601 with milliseconds and an offset (``Z`` for UTC): the spec's ``ts_iso``."""
    ms = round(t * 1000) + off_min * 60000
    hour, rem = divmod(ms, 3_600_000)
    key = (hour, off_min)
    pre = _HOUR_PREFIX.get(key)
    if pre is None:
        eday, h = divmod(hour, 24)
        pre = _HOUR_PREFIX[key] = (f"{date_str(eday)}T{h:02d}:", _offset_suffix(off_min))
    m, rem = divmod(rem, 60000)
    s, milli = divmod(rem, 1000)
    return f"{pre[0]}{m:02d}:{s:02d}.{milli:03d}{pre[1]}"


def _clock(si: int) -> tuple[str, int, int, int]:
    """(date, hour, minute, second) of whole epoch seconds ``si``."""
    eday, rem = divmod(si, DAY)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return date_str(eday), h, m, s


def iso_s(t: float) -> str:
    """ISO-8601 UTC without milliseconds (systems that log whole seconds)."""
    day, h, m, s = _clock(int(t))
    return f"{day}T{h:02d}:{m:02d}:{s:02d}Z"


def local(t: float, off_min: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` wall-clock time at the given offset: the spec's ``ts_local``."""
    day, h, m, s = _clock(int(t) + off_min * 60)
    return f"{day} {h:02d}:{m:02d}:{s:02d}"


def date_of(t: float) -> str:
    return date_str(int(t) // DAY)


def stamp(t: float) -> str:
    """``YYYYMMDD`` / ``YYYYMMDD_HHMMSS`` parts of a landing file name."""
    return date_str(int(t) // DAY).replace("-", "")


def stamp_hms(t: float) -> str:
    day, h, m, s = _clock(int(t))
    return f"{day.replace('-', '')}_{h:02d}{m:02d}{s:02d}"
