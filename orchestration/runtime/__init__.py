"""What runs the code location, fenced from it: the prefork run launcher and its warm process,
the daemon and `dagster dev` entry points, the in-process `lakehouse run` and quarantine replay,
the docs server, the event log storage and the base of the dbt CLI resource. Every private
Dagster symbol (or member) the project relies on is used here and nowhere else; `README.md`
beside this file lists them and the test that guards each one."""
