"""Where each Delta table lives under the lakehouse home, named once so layers agree."""

from __future__ import annotations

from lakehouse.home import Home


def bronze_table_name(channel: str, entity: str) -> str:
    """``web`` + ``events`` -> ``web__events``: one bronze table per landed entity."""
    return f"{channel}__{entity}"


def table_uri(home: Home, layer: str, name: str) -> str:
    """URI of a table in a layer (``bronze``, ``silver``, ``quarantine``)."""
    return str(home.lake / layer / name)


def bronze_uri(home: Home, channel: str, entity: str) -> str:
    return table_uri(home, "bronze", bronze_table_name(channel, entity))


def quarantine_uri(home: Home) -> str:
    """The single quarantine table of rows that failed validation, with their reasons."""
    return table_uri(home, "quarantine", "rows")
