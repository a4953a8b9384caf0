"""A consumer that reads new entries while earlier ones are still being handled
(``Overlapping``), against a real Valkey: slow entries are held by events the test releases."""

import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import TimeoutError as StoreTimeoutError

from ingest.consuming import Overlapping, StreamConsumer
from ingest.deadletters import DeadLetters
from ingest.stream import Entry, TypedStream
from tests.conftest import ManualClock
from tests.valkey_processes import Store
from tocsin.store import connect

STREAM = "test:events"
GROUP = "test-group"
DEAD = "test:dead"
TIMEOUT = timedelta(milliseconds=300)
OUTAGE = (StoreTimeoutError, StoreConnectionError)


class Event(BaseModel):
    name: str
    """The key's letter, then its number: ``a1`` comes before ``a2``."""


class Handler:
    """Records what it handles; an entry whose name has a gate waits until it is set."""

    def __init__(self, *held: str, failing: str = "") -> None:
        self.gates = {name: asyncio.Event() for name in held}
        self.started: list[str] = []
        self.handled: list[str] = []
        self.failing = failing

    def release(self, name: str) -> None:
        self.gates[name].set()

    async def __call__(self, event: Event, entry_id: str) -> None:
        self.started.append(event.name)
        if event.name in self.gates:
            await self.gates[event.name].wait()
        if event.name == self.failing:
            raise RuntimeError(f"{event.name} cannot be handled")
        self.handled.append(event.name)


def make_consumer(
    redis: Redis,
    clock: ManualClock,
    handler: Handler,
    *,
    limit: int = 4,
    buried: list[str] | None = None,
) -> StreamConsumer[Event]:
    async def note_buried(entry: Entry[Event], reason: str) -> None:
        assert buried is not None
        buried.append(reason)

    return StreamConsumer(
        TypedStream(redis, STREAM, Event),
        GROUP,
        "c1",
        Overlapping(handler, lambda event: event.name[0], limit=limit),
        DeadLetters(redis, DEAD),
        clock,
        CollectorRegistry(),
        stage="test",
        buried=note_buried if buried is not None else None,
        block=timedelta(milliseconds=10),
        max_deliveries=2,
        retry_after=timedelta(0),
    )


async def add(redis: Redis, *names: str) -> None:
    await TypedStream(redis, STREAM, Event).append([Event(name=name) for name in names])


async def pending(redis: Redis) -> dict[str, int]:
    """Pending entries by name, with how often each was handed out."""
    rows = await redis.xpending_range(STREAM, GROUP, "-", "+", 100)
    names = {}
    for row in rows:
        [(_, fields)] = await redis.xrange(STREAM, row["message_id"], row["message_id"])
        names[Event.model_validate_json(fields[b"m"]).name] = row["times_delivered"]
    return names


def in_background(consumer: StreamConsumer[Event]) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """The consumer's loop, and what stops it."""
    stop = asyncio.Event()
    return stop, asyncio.create_task(consumer.run(stop))


async def until(done: Callable[[], bool]) -> None:
    """Turns of the loop until ``done``: nothing here waits on a timer."""
    for _ in range(10_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never came to pass")


async def test_a_slow_entry_does_not_hold_back_another_incidents(
    redis: Redis, clock: ManualClock
) -> None:
    handler = Handler("a1")
    consumer = make_consumer(redis, clock, handler)
    await add(redis, "a1")
    assert await consumer.step() == 0
    await until(lambda: handler.started == ["a1"])

    await add(redis, "b1")  # read while a1 is still being handled
    await consumer.step()
    await until(lambda: handler.handled == ["b1"])
    await until(lambda: consumer._in_flight is not None and len(consumer._in_flight.ids) == 1)
    assert await pending(redis) == {"a1": 1}  # b1 acknowledged at once

    handler.release("a1")
    assert await consumer.drain() == 2  # b1 and a1, since the last step
    assert handler.handled == ["b1", "a1"]
    assert await pending(redis) == {}


async def test_an_incidents_entries_wait_for_each_other(redis: Redis, clock: ManualClock) -> None:
    handler = Handler("a1")
    consumer = make_consumer(redis, clock, handler)
    await add(redis, "a1", "a2", "b1")
    await consumer.step()
    await until(lambda: handler.handled == ["b1"])
    assert handler.started == ["a1", "b1"]  # a2 waits behind a1

    handler.release("a1")
    await consumer.drain()
    assert handler.handled == ["b1", "a1", "a2"]


async def test_no_more_than_the_limit_in_flight(redis: Redis, clock: ManualClock) -> None:
    handler = Handler("a1", "b1", "c1")
    consumer = make_consumer(redis, clock, handler, limit=2)
    await add(redis, "a1", "b1", "c1", "d1")
    await consumer.step()
    await until(lambda: handler.started == ["a1", "b1"])

    waiting = asyncio.create_task(consumer.step())  # waits for room before reading
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    assert handler.started == ["a1", "b1"]

    handler.release("a1")
    assert await waiting == 1
    await until(lambda: handler.started == ["a1", "b1", "c1"])
    handler.release("b1")
    handler.release("c1")
    await consumer.drain()
    await consumer.step()
    await consumer.drain()
    assert sorted(handler.handled) == ["a1", "b1", "c1", "d1"]


async def test_a_failing_entry_is_retried_then_buried(redis: Redis, clock: ManualClock) -> None:
    handler = Handler(failing="a1")
    buried: list[str] = []
    consumer = make_consumer(redis, clock, handler, buried=buried)
    await add(redis, "a1", "b1")
    assert await consumer.step() + await consumer.drain() == 1  # b1
    assert await pending(redis) == {"a1": 1}  # stays pending, to be retried

    assert await consumer.step() + await consumer.drain() == 1  # a1, buried on its last try
    assert handler.started == ["a1", "b1", "a1"]
    assert buried == ["RuntimeError: a1 cannot be handled"]
    assert await pending(redis) == {}
    [(_, letter)] = await DeadLetters(redis, DEAD).list()
    assert letter.deliveries == 2


async def test_an_entry_in_flight_is_not_handed_out_again(redis: Redis, clock: ManualClock) -> None:
    handler = Handler("a1")
    consumer = make_consumer(redis, clock, handler)
    await add(redis, "a1")
    for _ in range(3):  # each step also looks for its own entries due for a retry
        await consumer.step()
        clock.advance(timedelta(seconds=5))
    assert handler.started == ["a1"]
    assert await pending(redis) == {"a1": 1}
    handler.release("a1")
    await consumer.drain()
    assert handler.handled == ["a1"]


async def test_a_crash_leaves_what_was_in_flight_to_the_next_consumer(
    redis: Redis, clock: ManualClock
) -> None:
    handler = Handler("a1")
    _, running = in_background(make_consumer(redis, clock, handler))
    await add(redis, "a1", "a2", "b1")
    await until(lambda: handler.handled == ["b1"])
    async with asyncio.timeout(5):
        while "b1" in await pending(redis):  # acknowledged just after
            pass
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert await pending(redis) == {"a1": 1, "a2": 1}

    after = Handler()
    restarted = make_consumer(redis, clock, after)
    assert await restarted.step() + await restarted.drain() == 2
    assert after.handled == ["a1", "a2"]
    assert await pending(redis) == {}


async def test_a_stop_reads_nothing_new_and_lets_in_flight_entries_finish(
    redis: Redis, clock: ManualClock
) -> None:
    handler = Handler("a1")
    stop, running = in_background(make_consumer(redis, clock, handler, limit=1))
    await add(redis, "a1")
    await until(lambda: handler.started == ["a1"])
    # One at a time: the loop waits for room, not on a read, when it is told to stop.
    stop.set()
    await add(redis, "b1")
    for _ in range(20):
        await asyncio.sleep(0)
    assert not running.done()  # a1 still in flight

    handler.release("a1")
    await running
    assert handler.handled == ["a1"]
    assert await pending(redis) == {}
    assert await redis.xlen(STREAM) == 2  # b1 left for the next run


async def test_a_store_outage_mid_flight_loses_nothing(
    store_processes: Store, clock: ManualClock
) -> None:
    primary = await store_processes.start_primary()
    redis = connect(store_processes.url(), timeout=TIMEOUT)
    handler = Handler("a1")
    consumer = make_consumer(redis, clock, handler)
    try:
        await add(redis, "a1", "a2", "b1")
        await consumer.step()
        await until(lambda: handler.handled == ["b1"])

        primary.signal(signal.SIGSTOP)
        handler.release("a1")  # handled, but its acknowledgement cannot reach the store
        with pytest.raises(OUTAGE):
            await consumer.step()
        with pytest.raises(OUTAGE):
            await consumer.drain()
        assert handler.started == ["a1", "b1"]  # a2 not tried while the store is away

        primary.signal(signal.SIGCONT)
        async with asyncio.timeout(10):
            while set(handler.handled) != {"a1", "a2", "b1"}:
                try:
                    await consumer.step()
                    await consumer.drain()
                except OUTAGE:
                    await asyncio.sleep(0.05)  # the connection is made again
        assert handler.handled == ["b1", "a1", "a1", "a2"]  # a1 again: its ack was lost
        assert await pending(redis) == {}
    finally:
        primary.signal(signal.SIGCONT)
        await redis.aclose()
