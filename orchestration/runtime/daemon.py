"""The Dagster daemon with its sensor loop at one second.

Dagster's sensor daemon looks at sensors at most every 5 s (`MIN_INTERVAL_LOOP_TIME`, a module
constant with no setting), which alone costs a micro-batch 2.5 s of freshness on average and
5 s at worst before the landing sensor even sees a file. This entry point lowers it to
`SENSOR_LOOP_SECONDS` and runs the daemon's own CLI; `lakehouse dev` starts it in place of
`python -m dagster._daemon`. A loop costs one cheap landing-zone scan per second.
`tests/unit/orchestration/runtime/test_private_api.py` fails if a Dagster upgrade moves the
constant (this package's `README.md` lists every private symbol it relies on).
"""

import dagster._daemon.sensor as sensor_daemon

SENSOR_LOOP_SECONDS = 1


def main() -> None:
    sensor_daemon.MIN_INTERVAL_LOOP_TIME = SENSOR_LOOP_SECONDS
    from dagster._daemon.cli import main as daemon_main

    daemon_main()


if __name__ == "__main__":
    main()
