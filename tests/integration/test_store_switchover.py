"""A planned failover (``SENTINEL FAILOVER``): the old primary stays up and keeps taking
writes until Sentinel turns it into a replica, at least eight seconds later, and then drops
them. A client through ``redis+sentinel://`` must move to the new primary long before."""

import time

from arq.connections import ArqRedis

from tests.e2e.conftest import eventually
from tests.e2e.store_outages import watched_by_sentinels
from tests.valkey_processes import Store
from tocsin.store import PRIMARY_CHECK_INTERVAL, connect

DEMOTED_AFTER = 8.0
"""Sentinel waits this long (four publish periods) before it turns a primary that is still
up, or came back, into a replica."""


async def written_to(client: ArqRedis) -> int:
    """The port of the server that took a write."""
    await client.incr("tocsin:test:writes")
    return int((await client.config_get("port"))["port"])


async def test_writes_follow_a_planned_failover_before_the_old_primary_is_demoted(
    store_processes: Store,
) -> None:
    store = store_processes
    await watched_by_sentinels(store)
    client = connect(store.sentinel_url())
    try:
        assert await written_to(client) == store.primary
        async with store.async_client(store.sentinels[0]) as sentinel:
            await sentinel.execute_command(  # type: ignore[no-untyped-call]
                "SENTINEL", "FAILOVER", store.master_name
            )

        async def promoted() -> bool:
            return await store.primary_port() == store.replica

        await eventually(promoted, within=20, what="the Sentinels to promote the replica")
        switched_at = time.monotonic()

        async def followed() -> bool:
            return await written_to(client) == store.replica

        await eventually(followed, within=DEMOTED_AFTER - 2, what="writes on the new primary")
        assert time.monotonic() - switched_at < PRIMARY_CHECK_INTERVAL.total_seconds() + 1
    finally:
        await client.aclose()
