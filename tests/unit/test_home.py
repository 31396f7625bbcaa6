"""The home's Dagster instance file: written with the project's defaults, kept when edited."""

import dagster as dg

from lakehouse.home import DAGSTER_INSTANCE_YAML, INSTANCE_YAML_MARKER, Home


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


def test_an_older_default_is_replaced_but_an_edited_file_is_kept(tmp_path):
    home = Home(tmp_path)
    yaml = home.dagster_home / "dagster.yaml"
    yaml.parent.mkdir(parents=True)
    yaml.write_text(INSTANCE_YAML_MARKER + "\ntelemetry:\n  enabled: false\n")
    home.environment()
    assert yaml.read_text() == DAGSTER_INSTANCE_YAML
    yaml.write_text("telemetry:\n  enabled: false\n")  # the marker removed: the user's file
    home.environment()
    assert yaml.read_text() == "telemetry:\n  enabled: false\n"
