"""The HTTP routes of the inventory API: every channel (web, app, stores) reads stock here.

Answers come from the in-memory snapshot of validated tables (``snapshot.py``) that
``reload.py`` keeps on the newest pins; no request reads the lake. Responses carry the served
positions version and equal what ``lakehouse.inventory.availability`` / ``fulfilment`` give
when the positions are a full build of the ledger they read; between nightly builds they are
the micro-batch positions (``inventory/live.py``: ``at_risk`` at the last full build's
shrinkage rates), which is what the live path maintains and gates.

Bad input gets a 4xx whose JSON body names the parameter (FastAPI's own
``{"detail": [{"loc", "msg", "type", ...}]}`` shape, plus ``allowed`` where the valid values
are known); a stack trace never leaves the server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from lakehouse.home import Home
from lakehouse.inventory.channels import SERVICES
from lakehouse.serve.reload import POLL_SECONDS, Reloader
from lakehouse.serve.snapshot import TABLES, NotServable, Snapshot
from lakehouse.storage.objects import lake_root

log = logging.getLogger(__name__)
Service = Literal["standard", "express"]
assert get_args(Service) == SERVICES, "the API's services follow channels.SERVICES"


class Position(BaseModel):
    location_id: str
    on_hand: int
    reserved: int
    available_to_promise: int
    inbound: int
    next_expected_date: str | None  # ISO date of the next purchase order due
    in_transit_out: int
    last_event_time: str | None  # ISO 8601, UTC
    last_count_time: str | None
    at_risk: float  # units probably lost to unrecorded shrinkage since the last count
    channel: str | None = None
    sellable: int | None = None  # with a channel: what it may sell from this location


class Availability(BaseModel):
    product_id: str
    channel: str | None
    positions_version: int
    locations: list[Position]


class Option(BaseModel):
    location_id: str
    service: str
    sellable: int
    shipping_cost: float
    transit_days: int
    backlog_orders: int
    ship_capacity_per_day: int
    dispatch_in_days: int
    delivery_days: int
    rank: int  # 1: the option the order router takes, per service


class Fulfilment(BaseModel):
    product_id: str
    zone: str
    quantity: int
    service: str | None
    positions_version: int
    options: list[Option]


class Problem(BaseModel):
    loc: list[str]
    msg: str
    type: str
    input: Any = None
    allowed: list[str] | None = None


class ErrorBody(BaseModel):
    detail: list[Problem]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    served: dict[str, int] | None  # table -> version of the snapshot being served
    validated: dict[str, int]  # table -> validated pin as last read from the registry
    loaded_at: str | None
    polled_at: str | None
    products: int
    positions: int
    error: str | None


class ApiError(Exception):
    """A request the API refuses, with the parameter it is about."""

    def __init__(self, status: int, param: str | None, msg: str, kind: str,
                 value: Any = None, allowed: list[str] | None = None) -> None:
        super().__init__(msg)
        self.status, self.param, self.msg, self.kind = status, param, msg, kind
        self.value, self.allowed = value, allowed

    def body(self) -> dict:
        problem: dict[str, Any] = {"loc": ["query", self.param] if self.param else [],
                                   "msg": self.msg, "type": self.kind}
        if self.value is not None:
            problem["input"] = self.value
        if self.allowed is not None:
            problem["allowed"] = self.allowed
        return {"detail": [problem]}


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown product"},
    422: {"model": ErrorBody, "description": "a parameter is missing, malformed or not one "
          "of the allowed values (listed in `allowed`)"},
    503: {"model": ErrorBody, "description": "no validated inventory positions yet"},
}


def _json(body: Any) -> Response:
    # the body is built from plain values here: no model validation per request
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def _current(reloader: Reloader) -> Snapshot:
    snap = reloader.snapshot
    if snap is None:
        raise ApiError(503, None, reloader.reason, "unavailable")
    return snap


def _known(snap: Snapshot, product_id: str) -> None:
    if product_id not in snap.products:
        raise ApiError(404, "product_id", f"unknown product {product_id!r}: no validated "
                       "position or catalogue entry has this product_id", "not_found",
                       product_id)


def create_app(home: str | Path | Home, poll_seconds: float = POLL_SECONDS) -> FastAPI:
    """The inventory API of a lakehouse home, reloading when a validated pin moves."""
    root = home.root if isinstance(home, Home) else Home.resolve(home).root
    reloader = Reloader(lake_root(root / "lake"), poll_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        reloader.start()
        try:
            yield
        finally:
            reloader.stop()

    app = FastAPIOffline(
        title="Lakehouse inventory API",
        description="Stock for every channel (web, app, stores) from validated inventory "
        "positions, and where an online order can be shipped from.",
        version="1", lifespan=lifespan)
    app.state.reloader = reloader

    @app.exception_handler(ApiError)
    async def refused(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": str(max(1, round(poll_seconds)))} if exc.status == 503 \
            else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.error("inventory API: %s %s failed", request.method, request.url.path,
                  exc_info=exc)
        return JSONResponse({"detail": [{"loc": [], "msg": "internal error (logged on the "
                                         "server)", "type": "internal"}]}, status_code=500)

    @app.get("/availability", response_model=Availability, responses=ERRORS,
             summary="Stock of one product per location, and what a channel may sell")
    async def availability(
            product_id: Annotated[str, Query(min_length=1, description="canonical product id")],
            channel: Annotated[str | None, Query(
                description="web, app, online (= web), store (every store) or a store code: "
                "only the locations that channel sells from, with `sellable`")] = None,
            location: Annotated[str | None, Query(
                min_length=1, description="only this location code")] = None) -> Response:
        snap = _current(reloader)
        _known(snap, product_id)
        if location is not None and snap.locations and location not in snap.locations:
            raise ApiError(422, "location", f"unknown location {location!r}", "value_error",
                           location, list(snap.locations))
        try:
            rows = snap.availability(product_id, channel, location)
        except ValueError as exc:
            raise ApiError(422, "channel", str(exc), "value_error", channel,
                           snap.channels()) from None
        except NotServable as exc:
            raise ApiError(503, "channel", str(exc), "unavailable") from None
        return _json({"product_id": product_id, "channel": channel,
                      "positions_version": snap.versions[TABLES["positions"]],
                      "locations": rows})

    @app.get("/fulfilment", response_model=Fulfilment, responses=ERRORS,
             summary="Where an online order of a product can ship from to a zone")
    async def fulfilment(
            product_id: Annotated[str, Query(min_length=1, description="canonical product id")],
            zone: Annotated[str, Query(min_length=1, description="the shopper's shipping "
                                       "zone")],
            quantity: Annotated[int, Query(ge=1, description="units ordered")] = 1,
            service: Annotated[Service | None, Query(
                description="shipping service (default: every service)")] = None,
    ) -> Response:
        snap = _current(reloader)
        _known(snap, product_id)
        if not snap.rates:
            raise ApiError(503, "zone", "fulfilment needs the locations and shipping_rates "
                           "tables, which have no validated version yet", "unavailable")
        if zone not in snap.rates:
            raise ApiError(422, "zone", f"unknown shipping zone {zone!r}", "value_error",
                           zone, sorted(snap.rates))
        options = snap.fulfilment(product_id, zone, quantity, service)
        return _json({"product_id": product_id, "zone": zone, "quantity": quantity,
                      "service": service,
                      "positions_version": snap.versions[TABLES["positions"]],
                      "options": options})

    @app.get("/health", response_model=Health,
             responses={503: {"model": Health, "description": "nothing validated to serve"}},
             summary="Which validated table versions are served, and since when")
    async def health() -> Response:
        snap = reloader.snapshot
        body = {"status": "ok" if snap else "unavailable",
                "served": snap.versions if snap else None, "validated": reloader.pins,
                "loaded_at": snap.loaded_at.isoformat() if snap else None,
                "polled_at": reloader.polled_at.isoformat() if reloader.polled_at else None,
                "products": len(snap.products) if snap else 0,
                "positions": snap.rows.height if snap else 0,
                "error": reloader.error if snap else reloader.reason}
        return Response(json.dumps(body), status_code=200 if snap else 503,
                        media_type="application/json")

    return app
