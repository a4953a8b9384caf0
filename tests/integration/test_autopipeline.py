"""Automatic pipelining against a real Valkey: concurrent callers share one connection and
each still gets its own reply or its own error; scripts survive a flushed script cache;
blocking commands do not hold anyone up; a hung store fails every caller within the timeout
and the client works again once the store does."""

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import DataError, ReadOnlyError, RedisError, ResponseError
from redis.exceptions import TimeoutError as StoreTimeoutError

from tests.e2e.conftest import eventually
from tests.valkey_processes import Store
from tocsin.autopipeline import AutoPipelined
from tocsin.store import connect

CALLERS = 200
TIMEOUT = timedelta(milliseconds=400)


@pytest.fixture
async def piped(redis: ArqRedis) -> AsyncIterator[AutoPipelined]:
    client = AutoPipelined(redis)
    try:
        yield client
    finally:
        await client.aclose()


async def test_concurrent_callers_share_one_connection_each_with_its_own_reply(
    piped: AutoPipelined,
) -> None:
    async def caller(n: int) -> tuple[int, bytes | None, int]:
        await piped.set(f"key:{n}", f"value {n}")
        return await piped.client_id(), await piped.get(f"key:{n}"), n

    answers = await asyncio.gather(*(caller(n) for n in range(CALLERS)))
    assert all(value == f"value {n}".encode() for _, value, n in answers)
    assert len({connection for connection, *_ in answers}) == 1


async def test_a_rejected_command_fails_only_its_caller(piped: AutoPipelined) -> None:
    await piped.hset("a-hash", "field", "1")
    results = await asyncio.gather(
        piped.incr("counter"),
        piped.get("a-hash"),  # WRONGTYPE
        piped.hget("a-hash", "field"),
        piped.incr("counter"),
        return_exceptions=True,
    )
    assert [results[0], results[2], results[3]] == [1, b"1", 2]
    assert isinstance(results[1], ResponseError)
    assert "WRONGTYPE" in str(results[1])


async def test_an_argument_that_cannot_be_sent_fails_only_its_caller(
    piped: AutoPipelined,
) -> None:
    results = await asyncio.gather(
        piped.set("kept", "1"),
        piped.set("refused", None),  # type: ignore[arg-type]
        piped.incr("counter"),
        return_exceptions=True,
    )
    assert results[0] is True
    assert isinstance(results[1], DataError)
    assert results[2] == 1


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0.1, b"0.1"),
        (1e20, b"1e+20"),
        (-7, b"-7"),
        ("größe ✓", "größe ✓".encode()),
        (b"\x00", b"\x00"),
    ],
)
async def test_values_are_stored_as_without_pipelining(
    piped: AutoPipelined, redis: ArqRedis, value: object, stored: bytes
) -> None:
    await redis.set("plain", value)  # type: ignore[arg-type]
    await piped.set("piped", value)  # type: ignore[arg-type]
    assert await redis.get("piped") == await redis.get("plain") == stored


async def test_replies_read_as_without_pipelining(piped: AutoPipelined, redis: ArqRedis) -> None:
    """Replies are taken off the read buffer by the client itself: each must come out as
    redis-py's own parsing makes it, however many one read brought."""
    await redis.hset("h", mapping={"a": "1", "b": "2"})
    await redis.zadd("z", {"x": 1.5, "y": 2})
    await redis.xadd("s", {"f": "v"}, id="1-1")
    await redis.set("k", "v", px=60_000)
    asked = [
        ("hgetall", ("h",), {}),
        ("zrange", ("z", 0, -1), {"withscores": True}),
        ("xrange", ("s",), {}),
        ("exists", ("h", "z", "nothing"), {}),
        ("set", ("k2", "w"), {}),
        ("get", ("nothing",), {}),
        ("mget", ([],), {}),  # no keys: redis-py's stand-in reply, not the store's error
        ("dump", ("k",), {}),  # never decoded
        ("info", ("server",), {}),
    ]
    expected = [
        await getattr(redis, name)(*args, **kwargs)
        for name, args, kwargs in asked
        if name not in ("set", "info")
    ]
    await redis.delete("k2")
    replies = await asyncio.gather(*(getattr(piped, n)(*a, **k) for n, a, k in asked))
    assert [
        r for (name, *_), r in zip(asked, replies, strict=True) if name not in ("set", "info")
    ] == expected
    assert replies[4] is True
    assert replies[8]["redis_version"] == (await redis.info("server"))["redis_version"]


async def test_a_decoding_client_still_gets_bytes_where_redis_py_never_decodes(
    redis: ArqRedis,
) -> None:
    decoding = ArqRedis(
        connection_pool=type(redis.connection_pool)(
            **{**redis.connection_pool.connection_kwargs, "decode_responses": True}
        )
    )
    piped = AutoPipelined(decoding)
    try:
        await piped.set("k", "größe")
        assert await piped.get("k") == "größe"
        assert isinstance(await piped.dump("k"), bytes)
    finally:
        await piped.aclose()
        await decoding.aclose(close_connection_pool=True)


async def test_scripts_run_again_after_the_store_forgot_them(
    piped: AutoPipelined, redis: ArqRedis
) -> None:
    script = piped.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script(keys=["total"], args=[1]) == 1
    await redis.script_flush()
    # Every caller meets NOSCRIPT, loads the script and runs it: each once.
    results = await asyncio.gather(*(script(keys=["total"], args=[1]) for _ in range(20)))
    assert sorted(results) == list(range(2, 22))
    assert await redis.get("total") == b"21"


async def test_a_blocking_read_holds_nobody_up(piped: AutoPipelined) -> None:
    waiting = asyncio.create_task(piped.blpop(["nothing-here"], timeout=1))
    await asyncio.sleep(0.05)  # the blocking read is on its way
    started = time.monotonic()
    assert await piped.set("quick", "1")
    assert time.monotonic() - started < 0.5
    assert await waiting is None


async def test_a_caller_that_stops_waiting_disturbs_nobody(piped: AutoPipelined) -> None:
    impatient = asyncio.create_task(piped.set("left", "1"))
    others = [asyncio.create_task(piped.incr("counter")) for _ in range(10)]
    impatient.cancel()
    assert sorted(await asyncio.gather(*others)) == list(range(1, 11))
    assert await piped.incr("counter") == 11


async def test_a_dropped_connection_fails_its_callers_and_the_next_command_connects(
    piped: AutoPipelined, redis: ArqRedis
) -> None:
    own = await piped.client_id()
    await redis.client_kill_filter(_id=own)
    with pytest.raises(StoreConnectionError):
        await piped.get("anything")
    assert await piped.set("again", "1")
    assert await piped.client_id() != own


async def test_a_demoted_primary_is_left_for_a_new_connection(store_processes: Store) -> None:
    """A write refused as READONLY means the store the connection reaches is a replica now
    (a failover demoted it): the next commands go on a new connection, which the pool points
    at the primary of the moment."""
    store_processes.start_servers()
    await eventually(lambda: store_processes.answers(store_processes.replica), what="replica")
    client = connect(store_processes.url(store_processes.replica))
    piped = AutoPipelined(client)
    try:
        first = await piped.client_id()
        with pytest.raises(ReadOnlyError):
            await piped.set("written", "1")
        assert await piped.client_id() != first
    finally:
        await piped.aclose()
        await client.aclose()


async def test_a_hung_store_fails_every_caller_within_the_timeout(
    store_processes: Store,
) -> None:
    primary = await store_processes.start_primary()
    client = connect(store_processes.url(), timeout=TIMEOUT)
    piped = AutoPipelined(client, timeout=TIMEOUT)
    try:
        assert await piped.set("before", "1")  # connected
        primary.signal(signal.SIGSTOP)
        started = time.monotonic()
        first = [asyncio.create_task(piped.incr("counter")) for _ in range(50)]
        await asyncio.sleep(TIMEOUT.total_seconds() / 2)
        # Sent while the first ones wait on the hung store: no longer than their own timeout.
        later = [asyncio.create_task(piped.incr("counter")) for _ in range(50)]
        results = await asyncio.gather(*first, *later, return_exceptions=True)
        waited = time.monotonic() - started
        assert all(isinstance(r, StoreTimeoutError) for r in results), results
        assert waited < 2 * TIMEOUT.total_seconds()

        primary.signal(signal.SIGCONT)
        # The stopped store still runs what reached it; its replies go nowhere.
        await eventually(lambda: _answers(piped), what="the client to work again")
    finally:
        primary.signal(signal.SIGCONT)
        await piped.aclose()
        await client.aclose()


async def _answers(client: AutoPipelined) -> bool:
    try:
        return bool(await client.ping())
    except RedisError:
        return False
