"""The dbt step's housekeeping: per-invocation target folders do not pile up."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.assets.dbt import prune_targets


def _folder(root: Path, name: str, mtime: int, *, finished: bool = True) -> Path:
    path = root / name
    (path / "compiled").mkdir(parents=True)
    if finished:
        (path / "run_results.json").write_text("{}")
    os.utime(path, (mtime, mtime))
    return path


def test_only_the_newest_invocation_folders_of_the_step_are_kept(tmp_path: Path) -> None:
    old = [_folder(tmp_path, f"dbt_models-run{i:04d}-abc{i:04d}", 1_000 + i) for i in range(6)]
    current = _folder(tmp_path, "dbt_models-runcurr-abcdefg", 2_000)
    other_step = _folder(tmp_path, "docs-run0001-abc0001", 10)
    (tmp_path / "partial_parse.msgpack").write_text("x")
    (tmp_path / "manifest.json").write_text("{}")

    removed = prune_targets(current, keep=3, now=2_000)

    assert sorted(removed) == sorted(old[:3])  # the current one and the 3 newest before it
    assert [p.exists() for p in old] == [False] * 3 + [True] * 3
    assert current.exists() and other_step.exists()
    assert (tmp_path / "partial_parse.msgpack").exists() and (tmp_path / "manifest.json").exists()


def test_the_current_folder_stays_even_when_it_is_not_the_newest(tmp_path: Path) -> None:
    current = _folder(tmp_path, "dbt_models-runcurr-abcdefg", 1)
    newer = [_folder(tmp_path, f"dbt_models-run{i:04d}-abc{i:04d}", 100 + i) for i in range(2)]
    assert prune_targets(current, keep=1, now=200) == [newer[0]]
    assert current.exists()


def test_a_running_invocation_is_left_alone_and_a_killed_one_goes_after_a_day(
        tmp_path: Path) -> None:
    day = 86_400
    running = _folder(tmp_path, "dbt_models-runlong-abclong", 10, finished=False)
    killed = _folder(tmp_path, "dbt_models-rundead-abcdead", 10, finished=False)
    current = _folder(tmp_path, "dbt_models-runcurr-abcdefg", 100)
    assert prune_targets(current, keep=0, now=day) == []
    assert running.exists()
    os.utime(running, (day, day))  # still writing
    assert prune_targets(current, keep=0, now=day + 20) == [killed]
    assert running.exists() and not killed.exists()
