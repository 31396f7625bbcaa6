"""The private Dagster API that `orchestration/runtime` relies on is still there, in the shape
the runtime uses it: a Dagster upgrade that moves, renames or reshapes one fails here, naming
it, instead of in a launched run or as a silent 5 s sensor loop. The fence holds too: no module
of the code location outside `orchestration/runtime` imports private Dagster, and the runtime
imports nothing private that is not listed here and in `orchestration/runtime/README.md`."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
from pathlib import Path

import click
import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[4]
ORCHESTRATION = ROOT / "orchestration"
RUNTIME = ORCHESTRATION / "runtime"
README = "orchestration/runtime/README.md"

# every private import of the runtime, "module:name" (or "module" for `import module as x`)
PRIVATE_IMPORTS = {
    "dagster._core.launcher.base:RunLauncher": "launcher.py",
    "dagster._core.launcher.base:LaunchRunContext": "launcher.py",
    "dagster._core.launcher.base:CheckRunHealthResult": "launcher.py",
    "dagster._core.launcher.base:WorkerStatus": "launcher.py",
    "dagster._serdes:ConfigurableClass": "launcher.py",
    "dagster._serdes:ConfigurableClassData": "launcher.py",
    "dagster._grpc.types:ExecuteRunArgs": "launcher.py, prefork.py",
    "dagster._cli.api:execute_run_command": "prefork.py",
    "dagster._core.code_pointer:CodePointer": "prefork.py",
    "dagster._core.instance.ref:InstanceRef": "prefork.py",
    "dagster._daemon.sensor": "daemon.py",
    "dagster._daemon.cli:main": "daemon.py",
    "dagster._cli.dev": "dev.py",
    "dagster._core.storage.dagster_run:ACTIVE_RUN_STATUSES": "run.py",
    "dagster._core.storage.event_log:SqliteEventLogStorage": "event_log.py",
    "dagster._core.storage.sqlite:SQLITE_BUSY_TIMEOUT_SECONDS": "event_log.py",
}

# members of public classes the runtime uses that Dagster does not mark public
INSTANCE_MEMBERS = ["add_run", "add_run_tags", "dispose", "from_ref", "get_ref", "get_runs",
                    "report_engine_event", "report_run_canceled", "report_run_canceling",
                    "report_run_failed", "run_monitoring_enabled",
                    "run_monitoring_start_timeout_seconds"]


def resolve(path: str):
    """The object at ``module:attr.attr``, or a failure naming it."""
    module, _, attrs = path.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"Dagster moved {module} ({exc}); see {README}")
    for attr in filter(None, attrs.split(".")):
        if not hasattr(obj, attr):
            pytest.fail(f"Dagster moved {path}: {module} has no {attr}; see {README}")
        obj = getattr(obj, attr)
    return obj


def private_imports(path: Path) -> set[str]:
    """The private Dagster imports of a module, as "module:name" or "module"."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and _private(node.module or ""):
            found |= {f"{node.module}:{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if _private(alias.name)}
    return found


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0].startswith("dagster") and any(p.startswith("_") for p in parts[1:])


@pytest.mark.parametrize("path", sorted(PRIVATE_IMPORTS))
def test_private_symbol_resolves(path: str):
    resolve(path)


def test_the_runtime_imports_only_the_listed_private_symbols():
    used = set().union(*(private_imports(p) for p in RUNTIME.glob("*.py")))
    assert used == set(PRIVATE_IMPORTS), (
        f"unlisted: {sorted(used - set(PRIVATE_IMPORTS))}, "
        f"no longer used: {sorted(set(PRIVATE_IMPORTS) - used)}; update this list and {README}")


def test_no_private_dagster_outside_the_runtime():
    leaks = {str(p.relative_to(ROOT)): sorted(private_imports(p))
             for p in ORCHESTRATION.rglob("*.py")
             if RUNTIME not in p.parents and private_imports(p)}
    assert not leaks, f"private Dagster outside orchestration/runtime: {leaks}"


def test_the_launcher_base_classes_take_our_subclasses():
    from orchestration.runtime.launcher import LakeRunCoordinator, PreforkRunLauncher

    run_launcher = resolve("dagster._core.launcher.base:RunLauncher")
    configurable = resolve("dagster._serdes:ConfigurableClass")
    assert {"launch_run", "terminate"} >= run_launcher.__abstractmethods__
    assert {"config_type", "inst_data", "from_config_value"} >= configurable.__abstractmethods__
    assert not inspect.isabstract(PreforkRunLauncher)
    for hook in ("check_run_worker_health", "supports_check_run_worker_health", "join",
                 "dispose"):
        assert hasattr(run_launcher, hook), f"RunLauncher.{hook} is gone; see {README}"
    # the instance a launcher / coordinator was registered with: no public accessor
    for cls in (run_launcher, LakeRunCoordinator):
        assert isinstance(inspect.getattr_static(cls, "_instance"), property), cls
        assert isinstance(inspect.getattr_static(cls, "has_instance"), property), cls
    assert "submit_run" in vars(dg.QueuedRunCoordinator)


def test_the_launch_and_health_types_keep_their_fields():
    context = resolve("dagster._core.launcher.base:LaunchRunContext")
    health = resolve("dagster._core.launcher.base:CheckRunHealthResult")
    status = resolve("dagster._core.launcher.base:WorkerStatus")
    assert "dagster_run" in inspect.signature(context).parameters
    assert list(inspect.signature(health).parameters)[:2] == ["status", "msg"]
    assert {"RUNNING", "NOT_FOUND"} <= set(status.__members__)
    data = resolve("dagster._serdes:ConfigurableClassData")
    assert {"module_name", "class_name", "config_yaml"} <= set(inspect.signature(data).parameters)


def test_a_run_is_executed_from_the_same_arguments():
    """The launcher builds `ExecuteRunArgs` from a run's code origin, the warm process hands
    them to the body of `dagster api execute_run`."""
    args = resolve("dagster._grpc.types:ExecuteRunArgs")
    assert {"job_origin", "run_id", "instance_ref"} <= set(inspect.signature(args).parameters)
    command = resolve("dagster._cli.api:execute_run_command")
    assert isinstance(command, click.Command)
    assert list(inspect.signature(command.callback).parameters) == [
        "input_json", "compressed_input_json"]
    assert "job_code_origin" in inspect.signature(dg.DagsterRun).parameters
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

    assert hasattr(JobPythonOrigin, "executable_path")
    assert "repository_origin" in inspect.signature(JobPythonOrigin).parameters
    assert "code_pointer" in inspect.signature(RepositoryPythonOrigin).parameters


def test_the_warm_process_can_load_what_it_is_sent():
    pointer = resolve("dagster._core.code_pointer:CodePointer")
    assert callable(getattr(pointer, "load_target", None)), f"CodePointer.load_target; {README}"
    ref = resolve("dagster._core.instance.ref:InstanceRef")
    assert "instance_ref" in inspect.signature(dg.DagsterInstance.from_ref).parameters
    assert inspect.isclass(ref)


@pytest.mark.parametrize("name", INSTANCE_MEMBERS)
def test_the_instance_members_the_runtime_calls_exist(name: str):
    assert hasattr(dg.DagsterInstance, name), f"DagsterInstance.{name} is gone; see {README}"


def test_an_engine_event_still_takes_the_reporting_class():
    assert "cls" in inspect.signature(dg.DagsterInstance.report_engine_event).parameters


def test_the_sensor_loop_floor_is_a_module_constant_the_loop_reads():
    """The monkeypatch of `orchestration.runtime.daemon`: the loop must read the module
    global at each iteration, or setting it changes nothing."""
    sensor = resolve("dagster._daemon.sensor")
    assert isinstance(sensor.MIN_INTERVAL_LOOP_TIME, int)
    loop = sensor.execute_sensor_iteration_loop
    assert loop.__globals__ is vars(sensor)
    assert "MIN_INTERVAL_LOOP_TIME" in loop.__code__.co_names
    daemon_cli = inspect.signature(resolve("dagster._daemon.cli:main"))
    assert all(p.default is not inspect.Parameter.empty for p in daemon_cli.parameters.values())


def test_dagster_dev_spawns_its_daemon_through_the_function_we_wrap():
    """The monkeypatch of `orchestration.runtime.dev`: `dagster dev` must look its spawn
    function up in its module at call time and start its daemon as ``-m dagster._daemon``."""
    from orchestration.runtime.dev import DAGSTER_DAEMON

    dev = resolve("dagster._cli.dev")
    spawn = dev.open_ipc_subprocess
    assert inspect.isfunction(spawn)
    assert next(iter(inspect.signature(spawn).parameters.values())).kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    impl = dev.dev_command_impl
    assert impl.__globals__ is vars(dev)
    assert "open_ipc_subprocess" in impl.__code__.co_names
    assert DAGSTER_DAEMON == ["-m", "dagster._daemon"]
    assert DAGSTER_DAEMON[1] in impl.__code__.co_consts
    assert importlib.util.find_spec("dagster._daemon.__main__") is not None
    assert isinstance(dev.dev_command, click.Command)


def test_active_run_statuses_include_a_run_being_launched():
    statuses = resolve("dagster._core.storage.dagster_run:ACTIVE_RUN_STATUSES")
    assert {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED} <= set(statuses)


def test_the_progress_logger_still_sees_step_events(capsys):
    """`lakehouse run` reads the event off Dagster's log records (``record.dagster_meta``)."""
    from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

    from orchestration.runtime.run import progress_logger

    assert LOG_RECORD_METADATA_ATTR == "dagster_meta"

    @dg.op
    def step() -> int:
        return 1

    @dg.job(logger_defs={"progress": progress_logger})
    def one_step():
        step()

    assert one_step.execute_in_process(run_config={"loggers": {"progress": {}}}).success
    out = capsys.readouterr().out
    assert "start step" in out and "done  step" in out, out


def test_the_sqlite_event_log_connects_only_through_the_method_we_replace():
    """`PooledSqliteEventLogStorage` replaces `_connect` and relies on the members it calls:
    every read and write must reach the database through `_connect`, and only `__init__` and
    `has_table` (which open a database once) may build an engine of their own."""
    storage = resolve("dagster._core.storage.event_log:SqliteEventLogStorage")
    for name in ("run_connection", "index_connection"):
        assert "_connect" in getattr(storage, name).__code__.co_names, f"{name}; see {README}"
    engines = {name for name, member in vars(storage).items() if inspect.isfunction(member)
               and "create_engine" in inspect.unwrap(member).__code__.co_names}
    assert engines == {"__init__", "has_table", "_connect"}, f"{engines}; see {README}"
    connect = inspect.getsource(storage._connect)
    for used in ("self._db_lock", "self.conn_string_for_shard(shard)", "self._initialized_dbs",
                 "self._initdb(engine)", "conn.begin()"):
        assert used in connect, f"SqliteEventLogStorage._connect no longer uses {used}"
    assert list(inspect.signature(storage).parameters) == ["base_dir", "inst_data"]
    assert "dispose" in vars(storage)
    assert isinstance(resolve("dagster._core.storage.sqlite:SQLITE_BUSY_TIMEOUT_SECONDS"), int)


def test_dagster_dbt_asks_the_members_we_replace_for_the_version_and_the_adapter():
    """`VenvDbtCliResource` (orchestration/runtime/dbt_cli.py) replaces dagster-dbt's
    `_cli_version` and `_initialize_dbt_core_adapter`: `cli` must still get both from them,
    an invocation must take no adapter, and the venv's dbt must be the dbt-core imported here."""
    import subprocess

    import dbt.version
    from dagster_dbt import DbtCliResource
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    from orchestration.assets.dbt import DBT_EXECUTABLE, DbtResource
    from orchestration.runtime.dbt_cli import VenvDbtCliResource

    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"),
                      functools.cached_property), f"DbtCliResource._cli_version; see {README}"
    assert inspect.isfunction(inspect.getattr_static(DbtCliResource,
                                                     "_initialize_dbt_core_adapter"))
    names = DbtCliResource.cli.__code__.co_names
    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(names), names
    assert DbtCliInvocation.__dataclass_fields__["adapter"].default is None
    resource = DbtResource()
    assert isinstance(resource, VenvDbtCliResource) and resource.dbt_executable == DBT_EXECUTABLE
    shown = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True,
                           check=True).stdout
    assert f"installed: {dbt.version.__version__}" in shown, shown
    assert str(resource._cli_version) == dbt.version.__version__
