"""A store that accepts connections and never answers (a stopped process, a host that half
died): each caller gets its error after one timeout, however many call at once, so a
webhook or a probe answers 503 in time instead of queueing behind the others."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.exceptions import RedisError

from tocsin.store import connect

TIMEOUT = timedelta(milliseconds=300)
CALLERS = 10


@pytest.fixture
async def hung_port() -> AsyncIterator[int]:
    """A port that accepts connections and reads what is sent, but never answers."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):  # until the caller gives up and closes
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:password@127.0.0.1:{port}/0",
        "redis+sentinel://127.0.0.1:{port}/mymaster/0",
    ],
    ids=["store", "sentinel"],
)
async def test_callers_wait_one_timeout_each_not_their_turn(hung_port: int, url: str) -> None:
    client = connect(url.format(port=hung_port), timeout=TIMEOUT)
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.ping() for _ in range(CALLERS)), return_exceptions=True
        )
        waited = time.monotonic() - started
    finally:
        await client.aclose()
    assert all(isinstance(result, RedisError) for result in results), results
    # In turn, the last caller would wait CALLERS timeouts.
    assert waited < 3 * TIMEOUT.total_seconds()
