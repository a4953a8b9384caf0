"""deploy/valkey/ as Valkey runs it: a primary and a replica started from valkey.conf and
three Sentinels from sentinel.conf, each given the password on the command line the way
compose/ and kubernetes/ give it. They must start (Valkey refuses a file it cannot parse),
require the password, replicate, agree on a quorum, and fail over."""

import time
from collections.abc import Callable

import pytest
from redis import AuthenticationError, Redis, RedisError

from tests.valkey_processes import Store


def eventually(check: Callable[[], bool], *, within: float, what: str) -> None:
    """Wait for what the servers do on their own time (replication, Sentinels finding one
    another every two seconds, a failover): observe it, never sleep a guessed duration."""
    deadline = time.monotonic() + within
    while True:
        try:
            if check():
                return
        except RedisError:
            pass  # not up yet, or mid-failover
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_store_keeps_alerts_replicates_and_fails_over(store_processes: Store) -> None:
    store = store_processes
    store.start_servers()
    primary = store.client(store.primary)
    eventually(
        lambda: bool(primary.ping()), within=10, what="the primary to start from valkey.conf"
    )
    with pytest.raises(AuthenticationError):
        Redis(port=store.primary).ping()
    assert primary.config_get("appendonly") == {"appendonly": "yes"}
    assert primary.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    primary.xadd("tocsin:alerts", {"alert": "{}"})
    replica = store.client(store.replica)
    eventually(
        lambda: replica.xlen("tocsin:alerts") == 1,
        within=10,
        what="the replica to authenticate to the primary and copy the stream",
    )

    # Started once the replica is attached, so the Sentinels' first look at the primary
    # finds it (they look again only every ten seconds).
    store.start_sentinels()
    sentinel = store.client(store.sentinels[0])
    eventually(
        lambda: str(sentinel.execute_command("SENTINEL", "CKQUORUM", store.master_name)).startswith(
            "OK 3 usable"
        ),
        within=20,
        what="the three Sentinels to find one another and agree on a quorum",
    )
    sentinel.execute_command("SENTINEL", "FAILOVER", store.master_name)
    eventually(
        lambda: (
            sentinel.sentinel_get_master_addr_by_name(store.master_name)
            == ("127.0.0.1", store.replica)
        ),
        within=20,
        what="the Sentinels to promote the replica",
    )
    eventually(
        lambda: replica.xadd("tocsin:alerts", {"alert": "{}"}) is not None,
        within=10,
        what="the promoted replica to take writes",
    )
