"""Pure formatting helpers of the simulator agree with the standard library they replace."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

from lakehouse.simulate import timefmt
from lakehouse.simulate.delivery import csv_line, dumps


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


def test_dumps_is_byte_identical_to_json() -> None:
    cases = [
        {"a": "x", "b": 1, "c": True, "d": False, "e": -7},
        {"q": 'say "hi"'}, {"p": "back\\slash"}, {"n": "café"}, {"t": "tab\there"},
        {"f": 1.5}, {"l": [1, "x"]}, {"o": {"k": "v"}}, {"z": None}, {'k"ey': "v"}, {},
        {"u": "\u2063mark\u2063"},
    ]
    for obj in cases:
        assert dumps(obj) == json.dumps(obj, separators=(",", ":")), obj


def test_csv_line_round_trips_through_the_csv_module() -> None:
    rows = [["a", 1, None, "b"], ["with, comma", 'with "quote"', "", 2.5],
            ["multi\nline", "x"], ["O'Brien", "123 Main St, Apt 4"]]
    for row in rows:
        back = next(csv.reader(io.StringIO(csv_line(row))))
        assert back == ["" if v is None else str(v) for v in row]
