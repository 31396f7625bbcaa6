"""``simulate``: build the world, run it day by day, write landing files and truth."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lakehouse.channels import CHANNELS, NESTED
from lakehouse.home import Home
from lakehouse.simulate import timefmt
from lakehouse.simulate.channels.reference import write_reference
from lakehouse.simulate.config import SimConfig, SimSummary
from lakehouse.simulate.delivery import Landing
from lakehouse.simulate.products import CATEGORY_NAMES
from lakehouse.simulate.truth import TruthWriter
from lakehouse.simulate.world import World

DAY = 86400


def delivery_rng(config: SimConfig) -> np.random.Generator:
    """Delivery randomness is its own stream: fault knobs never change the world."""
    return np.random.default_rng([config.seed, 7919])


def clear_landing(home: Home) -> None:
    """Remove files a previous simulation left (only spec-named files and truth tables)."""
    import fnmatch

    for ch in CHANNELS:
        folder = home.channel_dir(ch.name)
        if not folder.is_dir():
            continue
        patterns = [e.pattern for e in ch.entities if (ch.name, e.name) not in NESTED]
        for f in folder.iterdir():
            if f.is_file() and any(fnmatch.fnmatch(f.name, p) for p in patterns):
                f.unlink()
    if home.truth.is_dir():
        for f in [*home.truth.glob("*.parquet"), *home.truth.glob("live/*.parquet")]:
            f.unlink()
        (home.truth / "live_state.json").unlink(missing_ok=True)  # live restarts after the batch


def build(home: Home, config: SimConfig, truth_dir: Path, suffix: str = "",
          slice_seconds: int = DAY, write_from: float | None = None, hms_names: bool = False,
          on_file: Callable[[str, int], None] | None = None) -> tuple[World, Landing, TruthWriter]:
    """World + landing + truth wired together, opening state written (reference docs, stock)."""
    truth = TruthWriter(truth_dir, suffix)
    t_start = timefmt.day_start(config.start)
    landing = Landing(home.landing, config, delivery_rng(config), truth, t_start, slice_seconds,
                      write_from, hms_names, on_file)
    world = World(config, landing, truth)
    write_reference(landing, t_start, world.catalog, world.locations, world.rates, world.promos)
    world.write_opening()
    return world, landing, truth


def write_static_truth(world: World, truth: TruthWriter) -> None:
    cfg = world.cfg
    from lakehouse.simulate import names

    for i, p in enumerate(world.persons):
        city, state, *_ = names.CITIES[p.city]
        truth.add("persons", (
            p.pid, p.household, p.first, p.last, p.emails[0], p.phone10,
            f"{p.street_no} {p.street} {p.street_type[0]}", city, state, p.zip5,
            (p.dob - timefmt.EPOCH).days, names.ZONES[int(world.pop.zone[i])],
            world.loc_codes[world.n_wh + p.home_store], float(world.pop.rate[i])))
    truth.extend("channel_effects", [
        ("ads", cfg.ad_effect, cfg.ad_decay_days), ("email", cfg.email_effect,
                                                    cfg.email_decay_days),
        ("organic", 0.0, 0.0), ("direct", 0.0, 0.0)])
    cat = world.catalog
    truth.extend("products", [
        (cat.ids[i], CATEGORY_NAMES[int(cat.category[i])], float(cat.quality[i]),
         float(cat.popularity[i]), world.return_prob(i),
         cat.suppliers[int(cat.supplier[i])].sid, cat.suppliers[int(cat.supplier[i])].on_time)
        for i in range(len(cat))])
    truth.extend("promo_lift", [
        (p.promo_id, "" if p.category < 0 else CATEGORY_NAMES[p.category], p.discount_pct,
         1.0 + cfg.promo_lift_per_pct * p.discount_pct) for p in world.promos])


def simulate(home: Home, config: SimConfig,
             progress: Callable[[str], None] | None = None) -> SimSummary:
    """Write ``config.days`` days of a deterministic retailer into ``home`` (landing + truth).

    Same seed and config give byte-identical files. Previous simulator output in the home is
    replaced.
    """
    t_wall = time.perf_counter()
    home.landing.mkdir(parents=True, exist_ok=True)
    clear_landing(home)
    gc_was_on = gc.isenabled()
    gc.disable()  # millions of short-lived tuples and no cycles worth collecting: ~15% faster
    try:
        world, landing, truth = build(home, config, home.truth)
        write_static_truth(world, truth)
        start = world.start_eday
        for k in range(config.days):
            world.run_day(start + k)
            landing.close_until((start + k + 1) * DAY)
            if progress and (k % 10 == 9 or k == config.days - 1):
                progress(f"day {k + 1}/{config.days}: {landing.events} rows in "
                         f"{landing.files} files")
        landing.drop_after()
        truth.close()
    finally:
        if gc_was_on:
            gc.enable()
    return SimSummary(files=landing.files, rows=dict(sorted(landing.rows.items())),
                      events=landing.events, seconds=time.perf_counter() - t_wall,
                      days=config.days)
