"""Which executor each job runs its steps with: a launched nightly or UI materialization forks
its steps from a server that imported the code location once (`forked_steps`); a micro-batch
and a quarantine replay stay in one process."""

from orchestration.definitions import defs


def test_launched_runs_fork_their_steps_and_micro_batches_stay_in_process():
    assert defs.resolve_job_def("materialize_all").executor_def.name == "forked_steps"
    for job in ("micro_batch", "quarantine_replay"):
        assert defs.resolve_job_def(job).executor_def.name == "in_process", job
