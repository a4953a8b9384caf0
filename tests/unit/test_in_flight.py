"""Entries handled while more are taken: each key in turn and in order, other keys at once,
never more than the limit in flight (``InFlight``)."""

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from ingest.in_flight import InFlight
from ingest.stream import Entry


class Event(BaseModel):
    key: str
    pauses: int
    """Times the handler yields to the others while handling it."""


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.keys_running: list[str] = []

    async def work(self, entry: Entry[Event]) -> None:
        assert entry.model is not None
        assert entry.model.key not in self.keys_running, "two entries of one key at once"
        self.keys_running.append(entry.model.key)
        self.started.append(entry.id)
        try:
            for _ in range(entry.model.pauses):
                await asyncio.sleep(0)
        finally:
            self.keys_running.remove(entry.model.key)


def by_key(event: Event) -> str:
    return event.key


@given(
    st.lists(
        st.tuples(
            st.builds(Event, key=st.sampled_from("abcde"), pauses=st.integers(0, 3)),
            st.integers(0, 2),
        ),
        max_size=40,
    ),
    st.integers(1, 4),
)
async def test_each_key_in_order_never_over_the_limit(
    events: list[tuple[Event, int]], limit: int
) -> None:
    """Entries are taken one by one as room allows, with turns of the loop between takes
    (``then``), so lanes end and start again while others run."""
    recorder = Recorder()
    flight = InFlight(recorder.work, by_key, limit=limit)
    taken = [Entry(f"{n}-0", event) for n, (event, _) in enumerate(events)]
    most = 0
    for entry, (_, then) in zip(taken, events, strict=True):
        await flight.wait_for_room()
        flight.start([entry])
        most = max(most, len(flight.ids))
        for _ in range(then):
            await asyncio.sleep(0)
    await flight.wait_all()
    assert most <= limit
    assert not flight.ids
    assert sorted(recorder.started) == sorted(entry.id for entry in taken)
    for key in "abcde":
        ids = [entry.id for entry in taken if entry.model is not None and entry.model.key == key]
        assert [i for i in recorder.started if i in ids] == ids


async def test_a_waiting_entry_does_not_hold_back_another_keys() -> None:
    release = asyncio.Event()
    quick_done = asyncio.Event()
    done: list[str] = []

    async def work(entry: Entry[Event]) -> None:
        assert entry.model is not None
        if entry.model.key == "slow":
            await release.wait()  # a channel waiting on its server
        done.append(entry.id)
        quick_done.set()

    flight = InFlight(work, by_key, limit=3)
    flight.start([Entry("1-0", Event(key="slow", pauses=0))])
    flight.start([Entry("2-0", Event(key="quick", pauses=0))])
    async with asyncio.timeout(5):
        await quick_done.wait()
    assert done == ["2-0"]
    assert flight.ids == {"1-0"}
    release.set()
    await flight.wait_all()
    assert done == ["2-0", "1-0"]


async def test_cancelled_lanes_let_go_of_their_entries() -> None:
    never = asyncio.Event()

    async def work(entry: Entry[Event]) -> None:
        await never.wait()

    flight = InFlight(work, by_key, limit=3)
    flight.start([Entry(f"{n}-0", Event(key="a", pauses=0)) for n in range(3)])
    assert flight.room == 0
    await asyncio.sleep(0)
    await flight.cancel()
    assert not flight.ids
    assert flight.room == 3


async def test_a_full_flight_is_taken_from_again_once_enough_has_ended() -> None:
    releases = {key: asyncio.Event() for key in "abcd"}

    async def work(entry: Entry[Event]) -> None:
        assert entry.model is not None
        await releases[entry.model.key].wait()

    flight = InFlight(work, by_key, limit=4)
    flight.start([Entry(f"{n}-0", Event(key=key, pauses=0)) for n, key in enumerate("abcd")])
    room = asyncio.create_task(flight.wait_for_room(2))
    releases["a"].set()
    for _ in range(10):  # turns of the loop for a's lane to end and room to look again
        await asyncio.sleep(0)
    assert flight.room == 1
    assert not room.done()  # one ended: not yet room enough to read
    releases["b"].set()
    async with asyncio.timeout(5):
        await room
    assert flight.room == 2
    for release in releases.values():
        release.set()
    await flight.wait_all()
