"""The simulator's timestamp formatting agrees with the datetime module it replaces."""

from __future__ import annotations

import datetime as dt
import random

from lakehouse.simulate import timefmt


def test_iso_and_local_match_datetime() -> None:
    rnd = random.Random(1)
    for _ in range(5000):
        t = rnd.uniform(1.6e9, 1.9e9)
        off = rnd.choice([0, -300, -360, -420, -480, 60, 330])
        tz = dt.timezone(dt.timedelta(minutes=off))
        moment = dt.datetime.fromtimestamp(round(t * 1000) / 1000, tz)
        assert timefmt.iso(t, off) == moment.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
        wall = dt.datetime.fromtimestamp(int(t), tz)
        assert timefmt.local(t, off) == wall.strftime("%Y-%m-%d %H:%M:%S")
    assert timefmt.tz_offset_minutes("America/New_York", timefmt.epoch_day(dt.date(2026, 1, 5))) \
        == -300
    assert timefmt.tz_offset_minutes("America/New_York", timefmt.epoch_day(dt.date(2026, 7, 5))) \
        == -240
