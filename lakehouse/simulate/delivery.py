"""Delivery as it is: records land in files by ARRIVAL slice, some late, some twice, some broken.

The world hands every record over with its event time and natural arrival time; this module
decides lateness, duplicate re-sends and corrupted extra copies (each a knob that can be 0),
buffers records until their arrival slice closes, then writes that slice's file per entity and
records in the truth where every fault, late and duplicate line landed (file + physical line).
Delivery has its own random stream, so switching faults off leaves the world unchanged.

Every file's modification time is its simulated delivery instant (the end of its arrival slice;
a reference document's export time): ingestion takes a record's knowledge time from it, so a
simulated history ingested today keeps realistic knowledge times. A file is written under a
hidden ``.tmp`` name, stamped, then renamed: a watcher never sees it with another mtime.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lakehouse.channels import entity
from lakehouse.simulate import timefmt
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.faults import (
    ENCODING_BYTES,
    ENCODING_MARK,
    FAULT_SPECS,
    FUTURE_SECONDS,
    FaultSpec,
    applicable,
    corrupt_json,
    corrupt_row,
    field_for,
)
from lakehouse.simulate.truth import TruthWriter

DAY = 86400
_ENC_MARK_BYTES = json.dumps(ENCODING_MARK).strip('"').encode()  # as json.dumps escapes it


@dataclass(frozen=True, eq=False)  # identity hash: a handful of singletons, hashed per record
class Target:
    """One landing entity: where its files go and how a record is serialised."""

    channel: str
    entity: str
    fmt: str  # jsonl | csv
    columns: tuple[str, ...]
    spec: FaultSpec

    @property
    def ext(self) -> str:
        return "jsonl" if self.fmt == "jsonl" else "csv"


def target(channel: str, name: str) -> Target:
    ent = entity(channel, name)
    return Target(channel, name, ent.format, ent.columns, FAULT_SPECS[(channel, name)])


def csv_field(v: object) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else str(v)
    if "," in s or '"' in s or "\n" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_line(row: list) -> str:
    """One CSV line; quoting only where a value needs it (checked on the joined text)."""
    text = ",".join([v if v.__class__ is str else ("" if v is None else str(v)) for v in row])
    if '"' in text or "\n" in text or text.count(",") != len(row) - 1:
        return ",".join([csv_field(v) for v in row])
    return text


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_json_encode = _ENCODER.encode


def dumps(obj: dict) -> str:
    """Compact JSON, byte-identical to ``json.dumps(obj, separators=(",", ":"))``.

    Flat records of plain ASCII strings and numbers (most clickstream lines) are joined with
    f-strings, about twice as fast as the encoder; anything else goes through ``json``.
    """
    parts = []
    quotes = 0
    for k, v in obj.items():
        c = v.__class__
        if c is str:
            parts.append(f'"{k}":"{v}"')
            quotes += 4
        elif c is int:
            parts.append(f'"{k}":{v}')
            quotes += 2
        elif c is bool:
            parts.append(f'"{k}":{"true" if v else "false"}')
            quotes += 2
        else:
            return _json_encode(obj)
    out = "{" + ",".join(parts) + "}"
    if out.count('"') != quotes or "\\" in out or not out.isascii() or not out.isprintable():
        return _json_encode(obj)  # something needs escaping
    return out


def _future_value(spec: FaultSpec, t: float) -> object:
    f = t + FUTURE_SECONDS
    return {"ts_iso": lambda: timefmt.iso(f), "ts_local": lambda: timefmt.local(f, 0),
            "date": lambda: timefmt.date_of(f), "epoch_ms": lambda: int(f * 1000),
            "epoch_s": lambda: int(f)}[spec.time_type]()


def deliver(path: Path, payload: bytes, at: float) -> None:
    """Write ``payload`` to ``path`` as delivered at epoch second ``at`` (its mtime): written
    under a name discovery skips, stamped, then renamed into place (rename keeps the mtime)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    ns = round(at * 1_000_000) * 1000  # microseconds: what Delta timestamps keep
    os.utime(tmp, ns=(ns, ns))
    os.replace(tmp, path)


class Landing:
    """Buffers records by arrival slice and writes one file per (entity, slice) when it closes.

    ``slice_seconds`` is 86400 for ``simulate`` (files named ``<entity>_<YYYYMMDD>_000``) and
    smaller for ``live`` (``<entity>_<YYYYMMDD>_<HHMMSS>_000``). Slices before ``write_from``
    are computed but not written (live replays the world up to where it stopped).
    """

    def __init__(self, landing_dir: Path, config: SimConfig, rng: np.random.Generator,
                 truth: TruthWriter, origin: float, slice_seconds: int = DAY,
                 write_from: float | None = None, hms_names: bool = False,
                 on_file: Callable[[str, int], None] | None = None) -> None:
        self.dir = landing_dir
        self.cfg = config
        self.rng = rng
        self.truth = truth
        self.origin = origin
        self.slice = slice_seconds
        self.write_from = origin if write_from is None else write_from
        self.hms = hms_names
        self.on_file = on_file
        self._u: list[float] = rng.random(1 << 16).tolist()
        self._ui = 0
        self._seq = 0
        self._late, self._dup = config.late_rate, config.duplicate_rate
        self._malformed = config.malformed_rate
        # chance that anything at all happens to a record (the common case is a fast path)
        self._any = 1.0 - (1 - self._late) * (1 - self._malformed) * (1 - self._dup)
        # slice index -> target -> list of entries
        self._pending: dict[int, dict[Target, list[tuple]]] = defaultdict(lambda: defaultdict(list))
        self.rows: dict[str, int] = defaultdict(int)
        self.files = 0
        self.events = 0
        self.emitted = 0

    # -- random numbers, drawn in blocks (a numpy call per record would dominate the run time)
    def u(self) -> float:
        i = self._ui
        if i >= len(self._u):
            self._u = self.rng.random(1 << 16).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def _put(self, tgt: Target, arrival: float, payload: bytes, tag: str | None,
             fld: str, key: str, event_t: float) -> None:
        self._seq += 1
        idx = int((arrival - self.origin) // self.slice)
        self._pending[idx][tgt].append((arrival, self._seq, payload, tag, fld, key, event_t))

    def _fate(self) -> tuple[bool, bool, bool]:
        """(late, malformed, duplicate) given that at least one happens: independent draws,
        conditioned by rejection, so each keeps exactly its knob's probability overall."""
        while True:
            late = self.u() < self._late
            bad = self.u() < self._malformed
            dup = self.u() < self._dup
            if late or bad or dup:
                return late, bad, dup

    def _eventful(self, tgt: Target, key: str, event_t: float, arrival: float, payload: bytes,
                  obj: dict | list, has: dict[str, bool] | None) -> None:
        late, bad, dup = self._fate()
        tag = None
        if late:
            arrival += (1 + int(self.u() * self.cfg.max_late_days)) * DAY + self.u() * 3600
            tag = "late"
        self._put(tgt, arrival, payload, tag, "", key, event_t)
        if bad:
            if has is None:
                spec = tgt.spec
                has = {"quantity": bool(spec.quantity) and (
                    tgt.fmt == "csv" or spec.quantity.split(".")[0] in obj),
                       "product": bool(spec.product) and (
                    tgt.fmt == "csv" or spec.product.split(".")[0] in obj)}
            kinds = applicable(tgt.spec, tgt.fmt, has)
            kind = kinds[int(self.u() * len(kinds))]
            raw = self._corrupt(tgt, obj, payload, kind, max(event_t, arrival))
            self._put(tgt, arrival + 0.0005, raw, kind, field_for(tgt.spec, kind), key, event_t)
        if dup:
            again = arrival + (1 + int(self.u() * 2)) * DAY + self.u() * 3600
            self._put(tgt, again, payload, "duplicate", "", key, event_t)

    @staticmethod
    def _corrupt(tgt: Target, obj: dict | list, line: bytes, kind: str, t: float) -> bytes:
        future = _future_value(tgt.spec, t)
        if tgt.fmt == "jsonl":
            if kind == "broken_json":
                return line[: max(1, len(line) // 2)]
            raw = dumps(corrupt_json(obj, kind, tgt.spec, future)).encode()  # type: ignore[arg-type]
            return raw.replace(_ENC_MARK_BYTES, ENCODING_BYTES) if kind == "encoding_error" else raw
        text = [csv_field(v) for v in obj]
        raw = csv_line(corrupt_row(text, tgt.columns, kind, tgt.spec, str(future))).encode()
        if kind == "encoding_error":
            raw = raw.replace(ENCODING_MARK.encode(), ENCODING_BYTES)
        return raw

    def json(self, tgt: Target, key: str, event_t: float, arrival: float, obj: dict,
             has: dict[str, bool] | None = None, faultable: bool = True) -> None:
        """Hand over one JSON record (``key`` is its source id, for the truth)."""
        self._record(tgt, key, event_t, arrival, dumps(obj).encode(), obj, has, faultable)

    def csv(self, tgt: Target, key: str, event_t: float, arrival: float, row: list,
            has: dict[str, bool] | None = None, faultable: bool = True) -> None:
        """Hand over one CSV row (values in the entity's column order)."""
        self._record(tgt, key, event_t, arrival, csv_line(row).encode(), row, has, faultable)

    def _record(self, tgt: Target, key: str, event_t: float, arrival: float, payload: bytes,
                obj: dict | list, has: dict[str, bool] | None, faultable: bool) -> None:
        self.emitted += 1
        if faultable and self._any:
            i = self._ui
            if i >= len(self._u):
                self._u = self.rng.random(1 << 16).tolist()
                i = 0
            self._ui = i + 1
            if self._u[i] < self._any:
                self._eventful(tgt, key, event_t, arrival, payload, obj, has)
                return
        self._seq += 1
        idx = int((arrival - self.origin) // self.slice)
        self._pending[idx][tgt].append((arrival, self._seq, payload, None, "", key, event_t))

    # -- writing
    def file_name(self, tgt: Target, slice_start: float) -> str:
        when = timefmt.stamp_hms(slice_start) if self.hms else timefmt.stamp(slice_start)
        return f"{tgt.entity}_{when}_000.{tgt.ext}"

    def close_until(self, t: float) -> None:
        """Write every slice that ends at or before ``t`` (nothing can arrive in it any more)."""
        done = int((t - self.origin) // self.slice)
        for idx in sorted(k for k in self._pending if k < done):
            self._write_slice(idx, self._pending.pop(idx))

    def drop_after(self) -> int:
        """Forget records still in flight at the end of a run (they have not arrived yet)."""
        n = sum(len(v) for per in self._pending.values() for v in per.values())
        self._pending.clear()
        return n

    def _write_slice(self, idx: int, per_target: dict[Target, list[tuple]]) -> None:
        start = self.origin + idx * self.slice
        if start < self.write_from:
            return
        for tgt in sorted(per_target, key=lambda x: (x.channel, x.entity)):
            entries = per_target[tgt]
            entries.sort()
            name = self.file_name(tgt, start)
            folder = self.dir / tgt.channel
            folder.mkdir(parents=True, exist_ok=True)
            offset = 1
            parts = []
            if tgt.fmt == "csv":
                parts.append(",".join(tgt.columns).encode())
                offset = 2
            n_fault = n_late = n_dup = 0
            for i, (arr, _s, payload, tag, fld, key, ev) in enumerate(entries):
                parts.append(payload)
                if tag is None:
                    continue
                line = i + offset
                if tag == "late" or tag == "duplicate":
                    self.truth.add("deliveries", (tgt.channel, tgt.entity, name, line, tag, key,
                                                  int(ev * 1000), int(arr * 1000)))
                    if tag == "late":
                        n_late += 1
                    else:
                        n_dup += 1
                else:
                    self.truth.add("faults", (tgt.channel, tgt.entity, name, line, tag, fld,
                                              key))
                    n_fault += 1
            deliver(folder / name, b"\n".join(parts) + b"\n", start + self.slice)
            self.truth.add("records", (tgt.channel, tgt.entity, name, len(entries), n_fault,
                                       n_late, n_dup))
            self.files += 1
            self.rows[tgt.channel] += len(entries)
            self.events += len(entries)
            if self.on_file:
                self.on_file(f"{tgt.channel}/{name}", len(entries))

    def document(self, channel: str, entity_name: str, name: str, payload: bytes,
                 rows: int, t: float) -> None:
        """Write a reference document (catalog, locations, suppliers, promotions): no faults."""
        if t < self.write_from:
            return
        folder = self.dir / channel
        folder.mkdir(parents=True, exist_ok=True)
        deliver(folder / name, payload, t)
        self.files += 1
        self.rows[channel] += rows
        self.events += rows
        self.truth.add("records", (channel, entity_name, name, rows, 0, 0, 0))
