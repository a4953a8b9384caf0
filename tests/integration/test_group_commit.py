"""Group commit against a real Valkey: concurrent appends share writes, each caller still
learns only once its own alerts are stored, and a failed write fails every caller in it."""

import asyncio
import signal
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ingest.group_commit import GroupCommit
from ingest.keys import ALERT_STREAM
from ingest.models import Alert
from ingest.stream import Durability, NotDurable, alert_stream
from ingest.web import Webhooks
from tests.conftest import ManualClock
from tests.e2e.conftest import eventually
from tests.integration.test_webhooks import (
    GENERIC,
    GENERIC_URL,
    received,
    rejected,
    serve,
)
from tests.valkey_processes import Store
from tocsin.store import connect

CALLERS = 200
RECEIVED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def alerts(caller: int, count: int) -> list[Alert]:
    return [
        Alert(
            dedup_key=f"c{caller}-a{n}",
            status="firing",
            summary=f"caller {caller} alert {n}",
            integration="am",
            source="alertmanager",
            received_at=RECEIVED,
        )
        for n in range(count)
    ]


async def stored_keys(redis: Redis) -> list[str]:
    entries = await redis.xrange(ALERT_STREAM)
    return [Alert.model_validate_json(fields[b"m"]).dedup_key for _, fields in entries]


async def writes(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_eval", {}).get("calls", 0))


async def test_concurrent_appends_are_all_stored_in_fewer_writes(redis: Redis) -> None:
    writer = GroupCommit(alert_stream(redis))
    await redis.config_resetstat()
    sent = [alerts(caller, 1 + caller % 5) for caller in range(CALLERS)]
    answers = await asyncio.gather(*(writer.append(batch) for batch in sent))

    stored = await stored_keys(redis)
    assert sorted(stored) == sorted(alert.dedup_key for batch in sent for alert in batch)
    for batch, ids in zip(sent, answers, strict=True):
        # Each caller gets the ids of its own alerts, which stay together and in order.
        assert len(ids) == len(batch)
        keys = [stored[stored.index(batch[0].dedup_key) + n] for n in range(len(batch))]
        assert keys == [alert.dedup_key for alert in batch]
    assert len({i for ids in answers for i in ids}) == len(stored)
    assert await writes(redis) < CALLERS / 10


async def test_a_lone_append_is_written_at_once(redis: Redis) -> None:
    writer = GroupCommit(alert_stream(redis))
    for caller in range(3):
        (entry_id,) = await writer.append(alerts(caller, 1))
        assert (await redis.xrange(ALERT_STREAM))[-1][0].decode() == entry_id
    assert await stored_keys(redis) == ["c0-a0", "c1-a0", "c2-a0"]


async def test_batches_stop_at_max_batch_but_never_split_a_request(redis: Redis) -> None:
    writer = GroupCommit(alert_stream(redis), max_batch=10)
    await redis.config_resetstat()
    # All arrive before the first write: 1 + 4 + 4 fit in 10, the next 4 does not, and 25
    # goes alone though it is larger.
    sizes = [1, 4, 4, 4, 25]
    answers = await asyncio.gather(*(writer.append(alerts(n, k)) for n, k in enumerate(sizes)))
    assert [len(ids) for ids in answers] == sizes
    assert await writes(redis) == 3
    assert len(await stored_keys(redis)) == sum(sizes)


async def test_a_caller_that_stops_waiting_does_not_hold_up_the_others(redis: Redis) -> None:
    writer = GroupCommit(alert_stream(redis))
    calls = [asyncio.create_task(writer.append(alerts(caller, 2))) for caller in range(20)]
    await asyncio.sleep(0)  # all queued; the first write has started
    calls[0].cancel()
    calls[10].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert isinstance(results[10], asyncio.CancelledError)
    kept = [r for n, r in enumerate(results) if n not in (0, 10)]
    assert all(isinstance(ids, list) and len(ids) == 2 for ids in kept), results
    stored = await stored_keys(redis)
    # The second had not been written yet: it is dropped. The first, in flight, is not.
    assert "c10-a0" not in stored
    assert len(stored) == 2 * len(kept) + (2 if "c0-a0" in stored else 0)
    # The writer goes on as before.
    assert len(await writer.append(alerts(99, 1))) == 1


async def test_a_write_that_is_not_durable_fails_every_caller_in_it(redis: Redis) -> None:
    # No replica is attached, so WAIT never counts one: every write is not durable.
    writer = GroupCommit(alert_stream(redis, Durability.REPLICA))
    results = await asyncio.gather(
        *(writer.append(alerts(caller, 1)) for caller in range(20)), return_exceptions=True
    )
    assert all(isinstance(result, NotDurable) for result in results), results


async def test_a_store_outage_fails_every_waiting_caller_and_none_half_way(
    store_processes: Store,
) -> None:
    primary = await store_processes.start_primary()
    redis = connect(store_processes.url(), timeout=timedelta(milliseconds=500))
    try:
        writer = GroupCommit(alert_stream(redis))
        await writer.append(alerts(0, 1))  # connected
        # The store stops answering while a write is in flight and others wait behind it.
        primary.signal(signal.SIGSTOP)
        calls = [asyncio.create_task(writer.append(alerts(n, 3))) for n in range(1, 51)]
        await asyncio.sleep(0.1)
        primary.kill()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(result, RedisError | OSError) for result in results), results

        primary.start()
        await eventually(lambda: store_processes.answers(store_processes.primary), what="Valkey")
        # Nothing of the failed writes was stored, and the writer works again.
        assert await stored_keys(redis) == ["c0-a0"]
        assert len(await writer.append(alerts(99, 2))) == 2
    finally:
        await redis.aclose()


def generic(key: str) -> dict[str, str]:
    return {"summary": f"alert {key}", "severity": "critical", "dedup_key": key}


def generic_webhooks(writer: GroupCommit[Alert], registry: CollectorRegistry) -> Webhooks:
    return Webhooks(integrations=[GENERIC], stream=writer, registry=registry, clock=ManualClock())


async def test_concurrent_webhooks_are_answered_202_once_their_alerts_are_stored(
    redis: Redis, registry: CollectorRegistry
) -> None:
    async with serve(generic_webhooks(GroupCommit(alert_stream(redis)), registry)) as client:

        async def send(n: int) -> int:
            body = [generic(f"w{n}-{i}") for i in "ab"]
            response = await client.post(GENERIC_URL, json=body)
            return response.status

        statuses = await asyncio.gather(*(send(n) for n in range(100)))
    assert statuses == [202] * 100
    assert len(await stored_keys(redis)) == 200
    assert received(registry, GENERIC) == 200


async def test_webhooks_sharing_a_write_that_fails_are_all_answered_503(
    redis: Redis, registry: CollectorRegistry
) -> None:
    writer = GroupCommit(alert_stream(redis, Durability.REPLICA))  # no replica: never durable
    async with serve(generic_webhooks(writer, registry)) as client:

        async def send(n: int) -> int:
            response = await client.post(GENERIC_URL, json=generic(f"w{n}"))
            assert "Retry-After" in response.headers
            return response.status

        statuses = await asyncio.gather(*(send(n) for n in range(20)))
    assert statuses == [503] * 20
    assert rejected(registry, "not_durable") == 20
    assert received(registry, GENERIC) == 0
