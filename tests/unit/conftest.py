"""Shared fixtures: small simulated homes, generated once per test session."""

from __future__ import annotations

import pytest

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate

# small but with every fault knob turned up so rates are measurable
SIM_FAULTY = SimConfig(persons=600, products=40, stores=3, warehouses=2, days=14, seed=7,
                       late_rate=0.08, duplicate_rate=0.04, malformed_rate=0.04,
                       clock_skew_share=0.3, schema_change_day=7)


@pytest.fixture(scope="session")
def sim_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("sim"))
    simulate(home, SIM_FAULTY)
    return home


# larger, default fault knobs: enough purchases for the behavioural statistics
SIM_STATS = SimConfig(persons=1500, products=40, stores=3, warehouses=2, days=28, seed=11)


@pytest.fixture(scope="session")
def stats_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("stats"))
    simulate(home, SIM_STATS)
    return home
