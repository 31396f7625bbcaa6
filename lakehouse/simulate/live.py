"""``live``: keep the world running past the batch days and drop one micro-batch per tick.

Each tick is one simulated hour of arrivals, written as ``<entity>_<YYYYMMDD>_<HHMMSS>_000``
(arrival hour in the name, so a file is never rewritten). The world is deterministic, so a
restart replays it silently up to where the last run stopped (``truth/live_state.json``) and
carries on; the truth of the new ticks goes to ``truth/live/<table>_<YYYYMMDD_HHMMSS>.parquet``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from lakehouse.home import Home
from lakehouse.simulate import timefmt
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.run import build

DAY = 86400
TICK = 3600


def live(home: Home, config: SimConfig, interval_seconds: float,
         max_batches: int | None = None,
         progress: Callable[[str], None] | None = None) -> None:
    """Write one simulated hour of newly arrived records every ``interval_seconds``.

    Meant to follow ``simulate(home, config)`` with the same config: the batch run wrote the
    reference documents and the first ``config.days`` days; live continues from there (records
    still in flight at the end of the batch land in the first live slices). Stops after
    ``max_batches`` ticks, or runs until interrupted.
    """
    state_path = home.truth / "live_state.json"
    ticks_done = 0
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("seed") == config.seed:
            ticks_done = int(state.get("ticks", 0))
    t_start = timefmt.day_start(config.start)
    resume = t_start + config.days * DAY + ticks_done * TICK
    home.landing.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    world, landing, truth = build(
        home, config, home.truth / "live", suffix=f"_{timefmt.stamp_hms(resume)}",
        slice_seconds=TICK, write_from=resume, hms_names=True,
        on_file=lambda name, rows: written.append(f"{name} ({rows} rows)"))
    truth.enabled = False
    eday = world.start_eday
    if progress:
        progress(f"replaying the world up to {timefmt.iso(resume)}")
    while (eday + 1) * DAY <= resume:
        world.run_day(eday)
        landing.close_until((eday + 1) * DAY)
        eday += 1
    truth.enabled = True
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            world.run_day(eday)
            for h in range(1, 25):
                t_end = eday * DAY + h * TICK
                if t_end <= resume:
                    landing.close_until(t_end)
                    continue
                tick_start = time.monotonic()
                written.clear()
                landing.close_until(t_end)
                ticks_done += 1
                batches += 1
                state_path.write_text(json.dumps({"seed": config.seed, "ticks": ticks_done}))
                if progress:
                    progress(f"batch {batches}: arrivals up to {timefmt.iso(t_end)}: "
                             f"{len(written)} files " + ", ".join(written))
                if max_batches is not None and batches >= max_batches:
                    return
                rest = interval_seconds - (time.monotonic() - tick_start)
                if rest > 0:
                    time.sleep(rest)
            eday += 1
    finally:
        truth.close()
