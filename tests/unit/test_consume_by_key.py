"""Entries of different keys handled at once, those of one key in turn (``by_key``)."""

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from redis.exceptions import ConnectionError as StoreConnectionError

from ingest.consuming import by_key
from ingest.stream import Entry


class Event(BaseModel):
    key: str
    pauses: int
    """Times the handler yields to the others while handling it."""
    fails: bool = False


def entries(events: list[Event]) -> list[Entry[Event]]:
    return [Entry(f"{n}-0", event) for n, event in enumerate(events)]


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.running: set[str] = set()
        self.keys_running: list[str] = []
        self.most_at_once = 0

    async def handle(self, event: Event, entry_id: str) -> None:
        assert event.key not in self.keys_running, "two entries of one key at once"
        self.keys_running.append(event.key)
        self.started.append(entry_id)
        self.most_at_once = max(self.most_at_once, len(self.keys_running))
        try:
            for _ in range(event.pauses):
                await asyncio.sleep(0)
            if event.fails:
                raise RuntimeError(f"entry {entry_id} failed")
        finally:
            self.keys_running.remove(event.key)


@given(
    st.lists(
        st.builds(
            Event, key=st.sampled_from("abcde"), pauses=st.integers(0, 3), fails=st.booleans()
        ),
        max_size=30,
    ),
    st.integers(1, 4),
)
async def test_each_key_in_stream_order_at_most_limit_keys_at_once(
    events: list[Event], limit: int
) -> None:
    recorder = Recorder()
    batch = entries(events)
    outcomes = await by_key(recorder.handle, lambda e: e.key, limit=limit)(batch)
    assert [outcome is not None for outcome in outcomes] == [e.fails for e in events]
    assert sorted(recorder.started) == sorted(entry.id for entry in batch)
    for key in "abcde":
        ids = [entry.id for entry in batch if entry.model is not None and entry.model.key == key]
        assert [i for i in recorder.started if i in ids] == ids
    assert recorder.most_at_once <= limit


async def test_a_waiting_entry_does_not_hold_back_another_keys() -> None:
    second_seen = asyncio.Event()

    async def handle(event: Event, entry_id: str) -> None:
        if event.key == "slow":
            await second_seen.wait()  # a channel waiting on its server
        else:
            second_seen.set()

    batch = entries([Event(key="slow", pauses=0), Event(key="quick", pauses=0)])
    async with asyncio.timeout(5):
        outcomes = await by_key(handle, lambda e: e.key, limit=2)(batch)
    assert outcomes == [None, None]


async def test_after_a_store_outage_nothing_else_is_tried() -> None:
    outage = StoreConnectionError("Connection refused")
    tried: list[str] = []

    async def handle(event: Event, entry_id: str) -> None:
        tried.append(event.key)
        if event.key == "a":
            raise outage

    batch = entries([Event(key=k, pauses=0) for k in "aba"])
    outcomes = await by_key(handle, lambda e: e.key, limit=1)(batch)
    assert tried == ["a"]
    assert outcomes == [outage, outage, outage]
