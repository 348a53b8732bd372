"""Several threads on one Client: the C library is thread-safe and ctypes releases the GIL, so
calls run concurrently; the simulator must see exactly the requests the threads made."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import ucwa
from conftest import ALICE, Sim, drain

SETTABLE = [a for a in ucwa.Availability if a.settable]


def test_many_threads_share_one_client(available: ucwa.Client, sim: Sim) -> None:
    threads, rounds = 8, 5

    def work(i: int) -> list[str]:
        done = []
        for r in range(rounds):
            a = SETTABLE[(i + r) % len(SETTABLE)]
            available.set_availability(a)
            assert available.get_presence().availability in ucwa.Availability
            available.set_note(f"thread {i} round {r}")
            assert available.get_note() is not None
            done.append(a.name)
        return done

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(threads)))

    # Only changes of the state the library keeps go out, paced (a burst, then one per 300 ms),
    # and the last state always lands: at most one POST per call, each one a state a thread
    # sent, and once quiet the server holds what the library keeps.
    time.sleep(1.0)
    posts = sim.requests("presence", "POST")
    assert 1 <= len(posts) <= threads * rounds
    assert all(p["status"] == 204 for p in posts)
    ucwa_name = {
        "ONLINE": "Online", "BUSY": "Busy", "DO_NOT_DISTURB": "DoNotDisturb",
        "BE_RIGHT_BACK": "BeRightBack", "AWAY": "Away", "OFF_WORK": "Offwork",
    }
    sent_names = {ucwa_name[n] for r in results for n in r}
    assert {json.loads(p["body"])["availability"] for p in posts} <= sent_names
    # the last state the library announced is the one the server holds
    kept = [e for e in drain(available) if isinstance(e, ucwa.EffectivePresenceChanged)]
    assert kept and kept[-1].availability is not None
    assert sim.user(ALICE)["availability"] == ucwa_name[kept[-1].availability.name]
    notes = sim.requests("note", "POST")
    assert 1 <= len(notes) <= threads * rounds
    assert sim.user(ALICE)["note"] == json.loads(notes[-1]["body"])["message"]


def test_event_reader_thread_runs_while_other_threads_write(
    available: ucwa.Client, sim: Sim
) -> None:
    seen: list[ucwa.Event] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            ev = available.next_event(timeout=0.2)
            if ev is not None:
                seen.append(ev)

    t = threading.Thread(target=reader)
    t.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: available.set_location(f"desk {i}"), range(12)))
        sim.set_presence_elsewhere(ALICE, "BeRightBack")
        deadline = threading.Event()
        for _ in range(50):
            if any(
                isinstance(e, ucwa.PresenceChanged)
                and e.availability == ucwa.Availability.BE_RIGHT_BACK
                for e in seen
            ):
                break
            deadline.wait(0.2)
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()
    assert any(
        isinstance(e, ucwa.PresenceChanged) and e.availability == ucwa.Availability.BE_RIGHT_BACK
        for e in seen
    ), seen
    assert len(sim.requests("location", "POST")) == 12


def test_close_while_other_threads_call_is_safe(available: ucwa.Client) -> None:
    errors: list[BaseException] = []
    started = threading.Barrier(5)

    def hammer() -> None:
        started.wait()
        try:
            for _ in range(200):
                available.get_presence()
        except ucwa.InvalidHandleError:
            pass  # closed under our feet: the documented outcome
        except ucwa.InvalidStateError:
            pass  # the free cut the call short: also documented
        except BaseException as e:  # anything else is a bug
            errors.append(e)

    ts = [threading.Thread(target=hammer) for _ in range(4)]
    for t in ts:
        t.start()
    started.wait()
    available.close()
    for t in ts:
        t.join(20)
    assert not any(t.is_alive() for t in ts)
    assert errors == []
