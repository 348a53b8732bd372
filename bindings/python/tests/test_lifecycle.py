"""The Client's lifetime: close() idempotency, use after close, the context manager and the
finalizer signing out (proved by the simulator's application list and DELETE request)."""

from __future__ import annotations

import gc

import pytest

import ucwa
from conftest import ALICE, ALICE_PASSWORD, FAST_OPTIONS, Sim


def test_close_is_idempotent(client: ucwa.Client) -> None:
    assert not client.closed
    client.close()
    client.close()
    assert client.closed
    assert "closed" in repr(client)


CALLS = [
    ("sign_in", (ALICE, ALICE_PASSWORD)),
    ("sign_in_with_tokens", (ALICE,)),
    ("set_token", ("http://127.0.0.1:1", "t0ken", 60)),
    ("make_me_available", ()),
    ("set_availability", (ucwa.Availability.BUSY,)),
    ("reset_availability", ()),
    ("get_presence", ()),
    ("set_note", ("x",)),
    ("get_note", ()),
    ("set_location", ("x",)),
    ("get_location", ()),
    ("report_activity", ()),
    ("sign_out", ()),
    ("set_option", ("timeout_ms", 1000)),
    ("next_event", (0,)),
]


@pytest.mark.parametrize("name,args", CALLS, ids=[c[0] for c in CALLS])
def test_every_call_after_close_raises_invalid_handle(
    available: ucwa.Client, sim: Sim, name: str, args: tuple
) -> None:
    available.close()
    before = [e for e in sim.log() if e["route"] != "events"]
    with pytest.raises(ucwa.InvalidHandleError):
        getattr(available, name)(*args)
    with pytest.raises(ucwa.InvalidHandleError):
        available.request_count
    with pytest.raises(ucwa.InvalidHandleError):
        with available:
            pass
    assert [e for e in sim.log() if e["route"] != "events"] == before


def test_events_iterator_on_a_closed_client_is_empty(client: ucwa.Client) -> None:
    client.close()
    assert list(client.events(timeout=1)) == []


def test_leaving_the_with_block_signs_out(sim: Sim) -> None:
    with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
        c.sign_in(ALICE, ALICE_PASSWORD)
        c.make_me_available()
        (app,) = sim.user(ALICE)["applications"]
    assert c.closed
    assert sim.user(ALICE)["applications"] == []
    deletes = sim.requests("application", "DELETE")
    assert len(deletes) == 1 and app["id"] in deletes[0]["path"]


def test_leaving_the_with_block_by_an_exception_signs_out_and_keeps_the_exception(
    sim: Sim,
) -> None:
    with pytest.raises(KeyError):
        with ucwa.Client(sim.url, **FAST_OPTIONS) as c:
            c.sign_in(ALICE, ALICE_PASSWORD)
            raise KeyError("host bug")
    assert sim.user(ALICE)["applications"] == []
    assert len(sim.requests("application", "DELETE")) == 1


def test_garbage_collected_client_signs_out(sim: Sim) -> None:
    c = ucwa.Client(sim.url, **FAST_OPTIONS)
    c.sign_in(ALICE, ALICE_PASSWORD)
    assert len(sim.user(ALICE)["applications"]) == 1
    del c
    gc.collect()
    assert sim.user(ALICE)["applications"] == []
    assert len(sim.requests("application", "DELETE")) == 1


def test_client_can_sign_in_again_after_sign_out(client: ucwa.Client, sim: Sim) -> None:
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.sign_out()
    client.sign_in(ALICE, ALICE_PASSWORD)
    client.make_me_available()
    client.set_availability(ucwa.Availability.OFF_WORK)
    assert len(sim.requests("applications", "POST")) == 2
    assert len(sim.user(ALICE)["applications"]) == 1


def test_bad_option_at_construction_does_not_leak_a_client(sim: Sim) -> None:
    with pytest.raises(ucwa.InvalidArgumentError):
        ucwa.Client(sim.url, keepalive_interval_s=-5)
    gc.collect()
    assert sim.log() == []
