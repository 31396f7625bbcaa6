"""The collector pause of the JSON exact path nests across threads and restores what it found."""

from __future__ import annotations

import gc
import threading

from lakehouse.ingest.parse.exact import gc_paused


def test_pauses_nest_and_restore_the_collector():
    assert gc.isenabled()
    inner_started, outer_done = threading.Event(), threading.Event()
    seen = []

    def inner():
        with gc_paused():
            inner_started.set()
            outer_done.wait(5)
            seen.append(gc.isenabled())  # the other thread's pause ended; this one holds

    t = threading.Thread(target=inner)
    with gc_paused():
        assert not gc.isenabled()
        t.start()
        inner_started.wait(5)
    outer_done.set()
    t.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
