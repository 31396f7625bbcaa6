"""The home's Dagster instance file: written with the project's defaults, kept when edited."""

import dagster as dg

from lakehouse.home import INSTANCE_YAML_MARKER, Home, instance_yaml


def test_instance_yaml_uses_the_prefork_launcher_and_the_queue(tmp_path):
    home = Home(tmp_path)
    env = home.environment()
    text = (home.dagster_home / "dagster.yaml").read_text()
    assert env["DAGSTER_HOME"] == str(home.dagster_home)
    assert "class: PreforkRunLauncher" in text and "class: LakeRunCoordinator" in text
    instance = dg.DagsterInstance.from_config(str(home.dagster_home))  # a valid instance file
    assert instance.run_monitoring_enabled
    assert type(instance.run_launcher).__name__ == "PreforkRunLauncher"
    # the queue that also tags UI materializations of lake assets as lake writers
    assert type(instance.run_coordinator).__name__ == "LakeRunCoordinator"
    assert instance.run_monitoring_start_timeout_seconds == 900
    # Dagster's event log files, written through one kept connection per database
    assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
    assert instance.event_log_storage.path_for_shard("index") == str(
        home.dagster_home / "history" / "runs" / "index.db")


def test_a_moved_home_points_its_instance_at_its_new_place(tmp_path):
    old, new = Home(tmp_path / "old"), Home(tmp_path / "new")
    old.environment()
    (old.root).rename(new.root)
    new.environment()
    text = (new.dagster_home / "dagster.yaml").read_text()
    assert str(new.dagster_home / "history" / "runs") in text and str(old.root) not in text


def test_an_older_default_is_replaced_but_an_edited_file_is_kept(tmp_path):
    home = Home(tmp_path)
    yaml = home.dagster_home / "dagster.yaml"
    yaml.parent.mkdir(parents=True)
    yaml.write_text(INSTANCE_YAML_MARKER + "\ntelemetry:\n  enabled: false\n")
    home.environment()
    assert yaml.read_text() == instance_yaml(home.dagster_home)
    yaml.write_text("telemetry:\n  enabled: false\n")  # the marker removed: the user's file
    home.environment()
    assert yaml.read_text() == "telemetry:\n  enabled: false\n"
