# Two commands on a fresh machine with Python 3.11, pip and make: `make run`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
LAKEHOUSE_HOME ?= $(CURDIR)/.lakehouse
export LAKEHOUSE_HOME
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Compile bytecode at install: with PYTHONDONTWRITEBYTECODE set (as here), every process would
# otherwise compile dagster, dbt and GX from source on each import (seconds per run).
export UV_COMPILE_BYTECODE := 1
# Telemetry off for every tool we run.
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False

.PHONY: env browser run test dev live lint bench chaos clean help

help:
	@echo "make run    simulate a retailer into $(LAKEHOUSE_HOME) and materialize every asset"
	@echo "make test   run the whole test suite"
	@echo "make dev    Dagster UI + daemon on the same home (sensors and schedules live)"
	@echo "make live   keep dropping micro-batch files into the landing zone"
	@echo "make lint   ruff"
	@echo "make bench  run the benchmark scripts in bench/"
	@echo "make browser  install Debian's Chromium for the browser tests (make test does)"
	@echo "make chaos  crash campaign: SIGKILL runs at random points (50 kills), re-run, compare"

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The environment is rebuilt from the lock file whenever the lock or pyproject changes.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@touch $@

env: $(VENV)/.synced

run: env
	$(BIN)/lakehouse simulate --home "$(LAKEHOUSE_HOME)"
	$(BIN)/lakehouse run --home "$(LAKEHOUSE_HOME)"

# The browser tests drive Debian's Chromium through Playwright (never a browser Playwright
# downloads). Installed with apt-get when missing and this user may; otherwise those tests skip
# and say why.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium >/dev/null) \
	  || echo "make browser: could not install chromium; the browser tests will skip"; \
	else echo "make browser: no $(CHROMIUM) and no root apt-get; the browser tests will skip"; fi

# Two workers on two cores. worksteal: an idle worker takes tests queued for the busy one; with
# xdist's default scheduling one worker ran the long end-to-end tests for 949 s while the other
# had finished its 743 tests at 502 s and sat idle (16:00 against 12:47).
test: env browser
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist worksteal -q --durations=25

dev: env
	$(BIN)/lakehouse dev --home "$(LAKEHOUSE_HOME)"

live: env
	$(BIN)/lakehouse simulate --home "$(LAKEHOUSE_HOME)" --live 10

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: env
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Crash campaign (issue 16): KILLS=N SEED=S to change it; prints kills, points, mismatches.
KILLS ?= 50
SEED ?= 1
chaos: env
	$(BIN)/python bench/chaos.py --kills $(KILLS) --seed $(SEED)

clean:
	rm -rf .lakehouse dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
