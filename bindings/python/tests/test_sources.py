"""Presence from several sources, through the Python binding: ``presence_source`` as a context
manager (cleared on exit, also on an exception), precedence, the preferred availability
overriding then handing back, expiries given as ``timedelta`` ending without a call, the state
a recreated application gets, a change elsewhere kept (and overwritten with
``enforce_presence``), a flapping source paced, bad input refused with nothing changed, and
``EffectivePresenceChanged`` events. Asserted on what the simulator stored and saw."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Optional

import pytest

import ucwa
from conftest import ALICE, Sim, drain, wait_for_event

A = ucwa.Availability


def lands(sim: Sim, availability: str, note: Optional[str], timeout_s: float = 6.0) -> bool:
    end = time.monotonic() + timeout_s
    while True:
        u = sim.user(ALICE)
        if u["availability"] == availability and (u.get("note") or None) == note:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def effective(client: ucwa.Client, **want: object) -> ucwa.EffectivePresenceChanged:
    def match(e: ucwa.Event) -> bool:
        return isinstance(e, ucwa.EffectivePresenceChanged) and all(
            getattr(e, k) == v for k, v in want.items()
        )

    ev, _ = wait_for_event(client, match)
    return ev


def test_presence_source_sets_and_clears_around_a_block(available: ucwa.Client, sim: Sim) -> None:
    available.set_source_presence("lock", A.AWAY)
    assert lands(sim, "Away", None)
    with available.presence_source("phone", A.BUSY, note="On a call"):
        assert lands(sim, "Busy", "On a call")
        ev = effective(available, source="phone")
        assert ev == ucwa.EffectivePresenceChanged(A.BUSY, "On a call", "phone", ucwa.PresenceCause.SET)
        assert ev.kind == ucwa.EventKind.EFFECTIVE_PRESENCE_CHANGED == 11
    assert lands(sim, "Away", None)
    effective(available, source="lock", cause=ucwa.PresenceCause.CLEARED)


def test_presence_source_is_cleared_when_the_block_raises(available: ucwa.Client, sim: Sim) -> None:
    available.set_source_presence("calendar", A.BUSY, note="Meeting")
    with pytest.raises(RuntimeError):
        with available.presence_source("phone", A.DO_NOT_DISTURB):
            # the deciding source has no note: the host's note (none) shows
            assert lands(sim, "DoNotDisturb", None)
            raise RuntimeError("the call dropped")
    assert lands(sim, "Busy", "Meeting")


def test_the_preferred_choice_overrides_then_hands_back(available: ucwa.Client, sim: Sim) -> None:
    available.set_source_presence("phone", A.BUSY)
    available.set_preferred_availability(A.ONLINE)
    assert lands(sim, "Online", None)
    effective(available, availability=A.ONLINE, source=None)
    available.clear_preferred_availability()
    assert lands(sim, "Busy", None)
    available.set_availability(A.AWAY)
    assert lands(sim, "Away", None)
    available.reset_availability()
    assert lands(sim, "Busy", None)


def test_timedelta_expiries_restore_the_state_and_note_without_a_call(
    available: ucwa.Client, sim: Sim
) -> None:
    available.set_source_presence("calendar", A.BUSY)
    available.set_source_presence("phone", A.DO_NOT_DISTURB, expires=timedelta(seconds=2))
    available.set_preferred_availability(A.ONLINE, expires=timedelta(milliseconds=900))
    available.set_note("Back at 3")
    available.set_note_until("Lunch", timedelta(seconds=1))
    assert lands(sim, "Online", "Lunch")
    effective(available, availability=A.DO_NOT_DISTURB, cause=ucwa.PresenceCause.EXPIRED)
    assert lands(sim, "DoNotDisturb", "Back at 3")
    effective(available, availability=A.BUSY, source="calendar", cause=ucwa.PresenceCause.EXPIRED)
    assert lands(sim, "Busy", "Back at 3")


def test_a_recreated_application_gets_the_effective_state(available: ucwa.Client, sim: Sim) -> None:
    available.set_source_presence("calendar", A.BUSY, note="Meeting")
    assert lands(sim, "Busy", "Meeting")
    sim.delete_applications(ALICE)
    wait_for_event(available, lambda e: isinstance(e, ucwa.ApplicationRecreated))
    assert lands(sim, "Busy", "Meeting")


def test_a_change_elsewhere_is_kept_and_with_enforce_presence_overwritten(
    available: ucwa.Client, sim: Sim
) -> None:
    available.set_source_presence("phone", A.BUSY)
    assert lands(sim, "Busy", None)
    time.sleep(2.5)  # past the window in which a read-back is our own POST's rendering
    posts = len(sim.requests("presence", "POST"))
    sim.set_presence_elsewhere(ALICE, "DoNotDisturb")
    ev = effective(available, cause=ucwa.PresenceCause.CHANGED_ELSEWHERE)
    assert (ev.availability, ev.source) == (A.DO_NOT_DISTURB, None)
    assert len(sim.requests("presence", "POST")) == posts

    available.set_option("enforce_presence", True)
    available.set_availability(A.ONLINE)
    assert lands(sim, "Online", None)
    time.sleep(2.5)
    sim.set_presence_elsewhere(ALICE, "Away")
    time.sleep(0.3)
    assert lands(sim, "Online", None)


def test_a_flapping_source_is_paced_and_its_last_state_lands(
    available: ucwa.Client, sim: Sim
) -> None:
    before = len(sim.requests("presence", "POST"))
    t0 = time.monotonic()
    for i in range(100):
        available.set_source_presence("lock", A.BUSY if i % 2 else A.AWAY)
        time.sleep(0.01)
    flapped = time.monotonic() - t0
    available.set_source_presence("lock", A.BE_RIGHT_BACK)
    assert lands(sim, "BeRightBack", None)
    time.sleep(0.4)
    posts = len(sim.requests("presence", "POST")) - before
    assert posts <= 5 + int(flapped / 0.3) + 3, posts


def test_every_bad_input_is_refused_and_changes_nothing(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, "alice-password")
    with pytest.raises(ucwa.InvalidStateError):
        client.set_source_presence("phone", A.BUSY)
    client.make_me_available()
    for i in range(16):
        client.set_source_presence(f"s{i}", A.ONLINE)
    assert lands(sim, "Online", None)
    time.sleep(0.4)
    posts = len(sim.requests("presence", "POST"))
    for bad in [
        lambda: client.set_source_presence("s99", A.BUSY),
        lambda: client.set_source_presence("", A.BUSY),
        lambda: client.set_source_presence("a\nb", A.BUSY),
        lambda: client.set_source_presence("n" * 33, A.BUSY),
        lambda: client.set_source_presence("s1", A.IDLE_BUSY),
        lambda: client.set_source_presence("s1", 0),
        lambda: client.set_source_presence("s1", A.BUSY, expires=timedelta(0)),
        lambda: client.set_source_presence("s1", A.BUSY, expires=timedelta(days=8)),
        lambda: client.set_preferred_availability(A.OFFLINE),
        lambda: client.set_note_until("x", timedelta(seconds=-1)),
    ]:
        with pytest.raises(ucwa.InvalidArgumentError):
            bad()
    with pytest.raises(TypeError):
        client.set_source_presence("s1", A.BUSY, expires=5)  # type: ignore[arg-type]
    time.sleep(0.3)
    assert len(sim.requests("presence", "POST")) == posts
    assert lands(sim, "Online", None)
