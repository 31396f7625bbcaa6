"""The landing-file contract of every source channel: its types (the channels themselves:
``registry.py``, their entities: ``customer_facing.py`` and ``back_office.py``).

The simulator writes files that follow these schemas and ingestion validates rows against them,
so the contract cannot drift between writer and reader. Each source keeps its own format and
its own field names (camelCase app events, epoch timestamps from the e-mail service, local
store times at the till) because that is the mess real channels hand us.

Landing layout: ``H/landing/<channel>/<entity>_<YYYYMMDD>[_<HHMMSS>]_<part>.<ext>``; one file
holds the records that *arrived* in that slice, which is not the slice they happened in.

Field types (as they appear in the file):
- ``str``, ``int``, ``float``, ``bool``: JSON scalars, or CSV text that parses as one;
- ``ts_iso``: ISO-8601 timestamp with an offset (``2026-03-01T10:15:30.123+01:00`` or ``Z``);
- ``ts_local``: ``YYYY-MM-DD HH:MM:SS`` in the location's own time zone (see ``locations``);
- ``epoch_ms`` / ``epoch_s``: integer milliseconds / seconds since 1970-01-01 UTC;
- ``date``: ``YYYY-MM-DD``;
- ``object`` / ``array``: nested JSON (orders only), described by the nested entity named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

_ENUM = re.compile(r"^[A-Za-z_]+(?: \| [A-Za-z_]+)+$")

# Source fields that identify a person. They stay in bronze and silver only: quality reports
# never echo their values, and everything from the identity map on carries keyed hashes.
PII_FIELDS = frozenset({
    "email", "phone", "first_name", "last_name", "address1", "address2", "address_line1",
    "address_line2", "zip", "postcode", "date_of_birth", "card_token", "payment_fingerprint",
    "reviewer_email", "reviewer_name", "customer", "shipping_address", "loyalty_card",
    "card_number",
})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str
    nested: str | None = None  # name of the nested entity for object/array fields
    minimum: float | None = None  # inclusive bounds for numbers: validation and suites share them
    maximum: float | None = None

    @property
    def allowed(self) -> tuple[str, ...] | None:
        """The closed set of values, when the description documents one (``a | b | c``)."""
        head = self.description.split(";")[0].split(" (")[0].strip()
        return tuple(head.split(" | ")) if _ENUM.match(head) else None

    @property
    def pii(self) -> bool:
        return self.name in PII_FIELDS


@dataclass(frozen=True)
class Entity:
    channel: str
    name: str
    format: str  # "jsonl" | "csv" | "json"
    pattern: str  # file-name glob inside landing/<channel>/
    key: str  # the source's own record / event id
    event_time: str | None  # field holding the event time, None for reference data
    description: str
    fields: tuple[Field, ...]
    added_fields: tuple[Field, ...] = ()  # optional fields that appear mid-stream (schema drift)

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return self.fields + self.added_fields

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Channel:
    name: str
    system: str
    description: str
    entities: tuple[Entity, ...] = field(default=())
    # How often the source is expected to deliver at least one file: the landing freshness
    # check warns when the newest file of the channel is older than this. None: no expectation.
    cadence: timedelta | None = None


def landing_entity(channel: str, name: str, fmt: str, key: str, event_time: str | None,
                   description: str, fields: Sequence[Field], added: Sequence[Field] = ()
                   ) -> Entity:
    """An entity landed as ``<name>_*.<fmt>`` files (the contracts: ``customer_facing.py``,
    ``back_office.py``)."""
    ext = {"jsonl": "jsonl", "csv": "csv", "json": "json"}[fmt]
    return Entity(
        channel=channel,
        name=name,
        format=fmt,
        pattern=f"{name}_*.{ext}",
        key=key,
        event_time=event_time,
        description=description,
        fields=tuple(fields),
        added_fields=tuple(added),
    )
