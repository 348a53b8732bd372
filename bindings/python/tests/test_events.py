"""Events pulled from the keep-alive supervisor, as typed dataclasses: changes made elsewhere
(through the simulator's control API), changes made by this client, server-side loss of the
application, and sign-out ending the stream."""

from __future__ import annotations

import threading
import time

import pytest

import ucwa
from conftest import ALICE, Sim, drain, wait_for_event


def test_presence_changed_on_another_device_arrives_as_an_event(
    available: ucwa.Client, sim: Sim
) -> None:
    drain(available)
    sim.set_presence_elsewhere(ALICE, "Away", "in-a-meeting")
    ev, _ = wait_for_event(available, lambda e: isinstance(e, ucwa.PresenceChanged))
    assert ev == ucwa.PresenceChanged(ucwa.Availability.AWAY, "in-a-meeting")
    assert ev.kind == ucwa.EventKind.PRESENCE_CHANGED
    # the event came through the event channel the client keeps parked
    assert any(e["status"] == 200 for e in sim.requests("events", "GET"))


def test_note_and_location_changes_arrive_as_events(available: ucwa.Client, sim: Sim) -> None:
    drain(available)
    available.set_note("Back at 3 ✓")
    ev, _ = wait_for_event(available, lambda e: isinstance(e, ucwa.NoteChanged))
    assert ev.note == "Back at 3 ✓" and ev.kind == ucwa.EventKind.NOTE_CHANGED
    available.set_location("Lab 2")
    ev, _ = wait_for_event(available, lambda e: isinstance(e, ucwa.LocationChanged))
    assert ev == ucwa.LocationChanged("Lab 2")
    assert sim.user(ALICE)["note"] == "Back at 3 ✓"


def test_sign_out_ends_the_stream_with_signed_out(available: ucwa.Client, sim: Sim) -> None:
    drain(available)
    available.sign_out()
    events = list(available.events(timeout=5))  # ends by itself, not by the timeout
    assert events and isinstance(events[-1], ucwa.SignedOut)
    assert events[-1].reason is None  # asked for by the host
    with pytest.raises(ucwa.InvalidStateError):
        available.next_event(timeout=0)
    assert sim.requests("application", "DELETE")


def test_next_event_returns_none_when_nothing_happens(available: ucwa.Client) -> None:
    drain(available)
    started = time.monotonic()
    assert available.next_event(timeout=0) is None
    assert available.next_event(timeout=0.3) is None
    assert 0.25 <= time.monotonic() - started < 3


def test_application_lost_on_the_server_is_recreated_and_reported(
    available: ucwa.Client, sim: Sim
) -> None:
    available.set_availability(ucwa.Availability.BUSY)
    old = {a["id"] for a in sim.user(ALICE)["applications"]}
    drain(available)
    sim.delete_applications(ALICE)
    wait_for_event(available, lambda e: isinstance(e, ucwa.ApplicationRecreated), timeout_s=20)
    apps = sim.user(ALICE)["applications"]
    assert len(apps) == 1 and apps[0]["id"] not in old and apps[0]["made_available"]
    # the desired availability was re-applied to the new application
    assert sim.user(ALICE)["availability"] == "Busy"


def test_events_iterator_ends_when_the_client_is_closed_from_another_thread(
    available: ucwa.Client,
) -> None:
    drain(available)
    got: list[object] = []

    def reader() -> None:
        got.append(list(available.events(timeout=None)))

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    available.close()
    t.join(10)
    assert not t.is_alive(), "events() kept waiting after close()"
    assert time.monotonic() - started < 8
    assert got and all(isinstance(e, ucwa.Event) for e in got[0])


@pytest.mark.sim_args("--app-expiry-s", "0.5", "--expired-status", "410")
def test_application_expired_by_the_server_signs_out_with_the_reason(sim: Sim) -> None:
    # Without an event channel nothing keeps the application alive, so the simulator ends it
    # and answers 410 InactiveApplicationExpired; the library stops and reports it.
    from conftest import ALICE_PASSWORD, FAST_OPTIONS

    with ucwa.Client(sim.url, **FAST_OPTIONS, event_channel=False) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        time.sleep(1.5)
        with pytest.raises(ucwa.ServerError) as info:
            c.set_availability(ucwa.Availability.BUSY)
        assert (info.value.http_status, info.value.subcode) == (410, "InactiveApplicationExpired")
        ev, _ = wait_for_event(c, lambda e: isinstance(e, ucwa.SignedOut), timeout_s=10)
        assert isinstance(ev.reason, ucwa.ServerError)
        assert (ev.reason.http_status, ev.reason.code, ev.reason.subcode) == (
            410,
            "Gone",
            "InactiveApplicationExpired",
        )
    assert [p["status"] for p in sim.requests("presence", "POST")] == [410]
