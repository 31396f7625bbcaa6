"""The landing sensor: one run per new set of files, stable keys, changed files detected."""

import os
from dataclasses import replace

import dagster as dg

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from orchestration.definitions import defs
from orchestration.resources import LakehouseResource
from orchestration.sensors import Cursor, new_files, plan_runs, scan_landing


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
    cursor = Cursor.parse(first.cursor)  # a watermark and the files of the last seconds
    assert cursor.watermark == max(f.ctime_ns for f in scan_landing(Home.resolve(tmp_path)))
    assert set(cursor.recent) == {"web/events_20260101_000.jsonl"}

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


def test_a_first_tick_requests_nothing_the_lake_already_ingested(tmp_path):
    """`make run` then `make dev`: the lake, not a cursor, says what is done."""
    _land(tmp_path, "web/events_20260101_000.jsonl", '{"event_id": "a"}\n')
    _land(tmp_path, "pos/transactions_20260101_000.csv", "transaction_id\n")
    home = Home.resolve(tmp_path)
    done = [f for f in discover(home) if f.channel == "web"]
    ingest_files(home, done, batch_id_for(done))
    first = _tick(tmp_path, None)
    (request,) = first.run_requests
    assert request.run_config["ops"]["ingest_bronze"]["config"]["files"] == [
        "pos/transactions_20260101_000.csv"]
    # an old per-file cursor (before the watermark) is read as no cursor: same answer
    old = _tick(tmp_path, '{"web/events_20260101_000.jsonl": "18:1"}')
    assert [r.run_key for r in old.run_requests] == [request.run_key]


def test_a_file_copied_with_an_old_mtime_is_still_new(tmp_path):
    _land(tmp_path, "web/events_20260101_000.jsonl", '{"event_id": "a"}\n')
    first = _tick(tmp_path, None)
    _land(tmp_path, "web/events_20250101_000.jsonl", '{"event_id": "b"}\n')
    path = tmp_path / "landing/web/events_20250101_000.jsonl"
    os.utime(path, (1_600_000_000, 1_600_000_000))  # what `cp -p` or `rsync -t` leave
    later = _tick(tmp_path, first.cursor)
    (request,) = later.run_requests
    assert request.run_config["ops"]["ingest_bronze"]["config"]["files"] == [
        "web/events_20250101_000.jsonl"]


def test_the_cursor_stays_bounded_and_a_tick_hashes_a_bounded_amount(tmp_path):
    home = Home.resolve(tmp_path)
    for i in range(6):
        _land(tmp_path, f"web/events_20260101_{i:03d}.jsonl", f'{{"event_id": "{i}"}}\n')
    # six files that arrived a second apart (ctime as a stat would give it)
    scanned = [replace(f, ctime_ns=k * 1_000_000_000)
               for k, f in enumerate(sorted(scan_landing(home), key=lambda f: f.relpath))]
    size = scanned[0].size
    seen: list[str] = []
    cursor = Cursor()
    for _ in range(3):  # two files' worth of hashing per tick
        fresh, cursor = new_files(home, scanned, cursor, max_hash_bytes=2 * size,
                                  slack_ns=1_500_000_000)
        seen += sorted(fresh)
        assert len(cursor.recent) <= 2  # only what is within the slack of the watermark
    assert seen == sorted(f.relpath for f in scanned)  # each once, none skipped
    fresh, cursor = new_files(home, scanned, cursor, slack_ns=1_500_000_000)
    assert not fresh and cursor.watermark == 5_000_000_000


def test_the_home_instance_keeps_a_day_of_skipped_sensor_ticks(tmp_path):
    """The sensor ticks every second: without retention its skipped ticks grow for ever."""
    import yaml

    home = Home.resolve(tmp_path).ensure()
    env = home.environment()  # writes the home's dagster.yaml
    config = yaml.safe_load((home.dagster_home / "dagster.yaml").read_text())
    assert config["retention"]["sensor"]["purge_after_days"]["skipped"] == 1
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])  # checks the schema
    try:
        assert instance.get_settings("retention") == config["retention"]
    finally:
        instance.dispose()
