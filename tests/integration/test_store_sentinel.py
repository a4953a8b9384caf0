"""The store client through Sentinel (``redis+sentinel://``) against a primary, a replica
and three Sentinels from deploy/valkey/: it follows a planned failover long before the old
primary is demoted, and Sentinels that hang never slow a primary that works."""

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis

from tests.e2e.conftest import eventually
from tests.e2e.store_outages import watched_by_sentinels
from tests.valkey_processes import Store
from tocsin.store import PRIMARY_CHECK_INTERVAL, connect

DEMOTED_AFTER = 8.0
"""Sentinel waits this long (four publish periods) before it turns a primary that is still
up, or came back, into a replica."""


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Store]:
    """Shared by the tests here: each finds the current primary rather than assuming it."""
    store = Store(tmp_path_factory.mktemp("sentinel"))
    try:
        await watched_by_sentinels(store)
        yield store
    finally:
        store.stop()


@pytest.fixture
async def client(store: Store) -> AsyncIterator[ArqRedis]:
    client = connect(store.sentinel_url())
    try:
        yield client
    finally:
        await client.aclose()


async def written_to(client: ArqRedis) -> int:
    """The port of the server that took a write."""
    await client.incr("tocsin:test:writes")
    return int((await client.config_get("port"))["port"])


async def test_writes_follow_a_planned_failover_before_the_old_primary_is_demoted(
    store: Store, client: ArqRedis
) -> None:
    old = await written_to(client)
    new = store.replica if old == store.primary else store.primary
    async with store.async_client(store.sentinels[0]) as sentinel:
        await sentinel.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "FAILOVER", store.master_name
        )

    async def promoted() -> bool:
        return await store.primary_port() == new

    await eventually(promoted, within=20, what="the Sentinels to promote the replica")
    switched_at = time.monotonic()

    async def followed() -> bool:
        return await written_to(client) == new

    await eventually(followed, within=DEMOTED_AFTER - 2, what="writes on the new primary")
    assert time.monotonic() - switched_at < PRIMARY_CHECK_INTERVAL.total_seconds() + 1


async def test_sentinels_that_hang_do_not_slow_a_working_primary(
    store: Store, client: ArqRedis
) -> None:
    await written_to(client)
    sentinels = [store.servers[f"sentinel-{i}"] for i in range(len(store.sentinels))]
    for sentinel in sentinels:
        sentinel.signal(signal.SIGSTOP)
    try:
        slowest = 0.0
        # Long enough for the client to ask the Sentinels again, twice.
        until = time.monotonic() + 2.5 * PRIMARY_CHECK_INTERVAL.total_seconds()
        while time.monotonic() < until:
            began = time.monotonic()
            await client.incr("tocsin:test:writes")
            slowest = max(slowest, time.monotonic() - began)
            await asyncio.sleep(0.05)
    finally:
        for sentinel in sentinels:
            sentinel.signal(signal.SIGCONT)
    assert slowest < 0.5
