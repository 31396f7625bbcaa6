"""Which groups of files a batch works on: files of one entity together, in bounded groups, less
the files the lake already holds in every table they feed."""

from __future__ import annotations

from collections import defaultdict

from deltalake import DeltaTable

from lakehouse.channels.spec import Entity
from lakehouse.home import Home
from lakehouse.ingest.bronze.commit import APP_VERSION
from lakehouse.ingest.bronze.rows import entities_of
from lakehouse.ingest.landing import LandingFile
from lakehouse.storage.delta import committed
from lakehouse.storage.paths import bronze_uri, quarantine_uri

GROUP_BYTES = 64 << 20  # files of one entity are parsed and validated together up to this

Step = tuple[list[Entity], list[LandingFile]]  # the entities of a group, its files to ingest


def plan(home: Home, files: list[LandingFile]) -> tuple[list[Step], set[str]]:
    """(groups to work on, biggest first; identities of the files skipped, as they are in every
    table they feed already)."""
    tables: dict[str, DeltaTable | None] = {}

    def table(uri: str) -> DeltaTable | None:
        if uri not in tables:
            tables[uri] = _open(uri)
        return tables[uri]

    q_uri = quarantine_uri(home)
    steps: list[Step] = []
    skipped: set[str] = set()
    for group in _groups(files):  # what is already in every table it feeds is skipped
        ents = entities_of(group[0])
        todo = []
        for f in group:
            targets = [bronze_uri(home, e.channel, e.name) for e in ents] + [q_uri]
            if all((dt := table(u)) is not None and committed(dt, f.app_id, APP_VERSION)
                   for u in targets):
                skipped.add(f.identity)
            else:
                todo.append(f)
        if todo:
            steps.append((ents, todo))
    steps.sort(key=lambda step: -sum(f.size for f in step[1]))  # biggest first: both workers
    # stay busy to the end instead of one finishing a big group alone
    return steps, skipped


def _open(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


def _groups(files: list[LandingFile]) -> list[list[LandingFile]]:
    """Files of one entity together (validation is one pass per group), in bounded groups."""
    by_entity: dict[tuple[str, str | None], list[LandingFile]] = defaultdict(list)
    for f in files:
        by_entity[(f.channel, f.entity if f.entity is not None else f.relpath)].append(f)
    out = []
    for key in sorted(by_entity, key=str):
        group: list[LandingFile] = []
        size = 0
        for f in by_entity[key]:
            if group and size + f.size > GROUP_BYTES:
                out.append(group)
                group, size = [], 0
            group.append(f)
            size += f.size
        out.append(group)
    return out
