"""What runs the code location, fenced from it: the prefork run launcher and its warm process,
the daemon and `dagster dev` entry points, the in-process `lakehouse run` and quarantine replay,
and the docs server. Every private Dagster symbol the project relies on is used here and
nowhere else; `README.md` beside this file lists them and the test that guards each one."""
