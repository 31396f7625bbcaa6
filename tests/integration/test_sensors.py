"""The landing sensor: one run per new set of files, stable keys, changed files detected."""

import json
import os

import dagster as dg

from lakehouse.home import Home
from orchestration.definitions import defs
from orchestration.resources import LakehouseResource
from orchestration.sensors import plan_runs, scan_landing


def _land(home, name: str, text: str) -> None:
    channel, file = name.split("/")
    folder = home / "landing" / channel
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(text)


def _tick(home, cursor: str | None):
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            cursor=cursor, instance=instance,
            resources={"lakehouse": LakehouseResource(home=str(home))},
        )
        return sensor.evaluate_tick(context)


def test_plan_runs_keys_are_stable_and_content_aware():
    current = {"web/events_1.jsonl": "10:1", "pos/transactions_1.csv": "20:1"}
    first = plan_runs(current, {})
    assert first == plan_runs(dict(reversed(list(current.items()))), {})
    assert [files for _, files in first] == [["pos/transactions_1.csv", "web/events_1.jsonl"]]
    assert plan_runs(current, current) == []
    changed = {**current, "web/events_1.jsonl": "11:2"}
    (key, files), = plan_runs(changed, current)
    assert files == ["web/events_1.jsonl"] and key != first[0][0]
    many = {f"web/events_{i:03d}.jsonl": "1:1" for i in range(5)}
    assert [len(f) for _, f in plan_runs(many, {}, max_files=2)] == [2, 2, 1]


def test_sensor_ticks_request_each_file_once_across_restarts(tmp_path):
    _land(tmp_path, "web/events_20260101_000.jsonl", '{"event_id": "a"}\n')
    _land(tmp_path, "web/events_20260101_001.jsonl.part", "in flight")

    first = _tick(tmp_path, None)
    (request,) = first.run_requests
    files = request.run_config["ops"]["ingest_bronze"]["config"]["files"]
    assert files == ["web/events_20260101_000.jsonl"]

    # Same files: a re-scan, an overlapping tick or a restarted daemon (same stored cursor).
    again = _tick(tmp_path, first.cursor)
    assert not again.run_requests and "no new files" in again.skip_message
    assert json.loads(first.cursor) == scan_landing(Home.resolve(tmp_path))

    # A new file and a changed file under an old name are both new work, with a new key.
    _land(tmp_path, "pos/transactions_20260101_000.csv", "transaction_id\n")
    path = tmp_path / "landing/web/events_20260101_000.jsonl"
    path.write_text('{"event_id": "a"}\n{"event_id": "b"}\n')
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    later = _tick(tmp_path, first.cursor)
    (request2,) = later.run_requests
    assert request2.run_key != request.run_key
    assert request2.run_config["ops"]["ingest_bronze"]["config"]["files"] == [
        "pos/transactions_20260101_000.csv",
        "web/events_20260101_000.jsonl",
    ]
