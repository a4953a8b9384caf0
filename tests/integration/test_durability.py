"""TOCSIN_DURABILITY against real servers from deploy/valkey/ (AOF on, fsync every second):
each level holds an append until the alert is where it promises; one that cannot be kept
(no replica connected) raises ``NotDurable``, which the sender sees as a 503 to retry."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import ArqRedis
from prometheus_client import CollectorRegistry

from ingest.config import Integration
from ingest.keys import ALERT_STREAM
from ingest.models import Alert
from ingest.stream import Durability, NotDurable, alert_stream
from ingest.web import Webhooks, add_routes
from tests.conftest import ManualClock
from tests.e2e.conftest import eventually
from tests.valkey_processes import Store
from tocsin.store import connect

GENERIC = Integration(name="cron", type="generic", token="gen-s3cret")
REPLICATED = (Durability.REPLICA, Durability.REPLICA_AOF)


def alert(key: str) -> Alert:
    return Alert(
        dedup_key=key,
        status="firing",
        summary=f"alert {key}",
        integration=GENERIC.name,
        source=GENERIC.type,
        received_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("paired"))
    try:
        store.start_servers()
        yield store
    finally:
        store.stop()


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A primary without a replica: a replica down, or not yet attached after a failover."""
    store = Store(tmp_path_factory.mktemp("alone"))
    try:
        store.start_servers(replica=False)
        yield store
    finally:
        store.stop()


async def primary(store: Store) -> AsyncIterator[ArqRedis]:
    await eventually(lambda: store.answers(store.primary), what="the primary to start")
    client = connect(store.url())
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def to_paired(paired: Store) -> AsyncIterator[ArqRedis]:
    await eventually(paired.replicating, what="the replica to attach")
    async for client in primary(paired):
        yield client


@pytest.fixture
async def to_alone(alone: Store) -> AsyncIterator[ArqRedis]:
    async for client in primary(alone):
        yield client


@pytest.mark.parametrize("durability", list(Durability))
async def test_each_level_appends_with_a_replica(
    paired: Store, to_paired: ArqRedis, durability: Durability
) -> None:
    stream = alert_stream(to_paired, durability)
    [entry_id] = await stream.append([alert(f"with-{durability}")])

    assert await to_paired.xrange(ALERT_STREAM, entry_id, entry_id)
    if durability in REPLICATED:
        # Confirmed by the replica: it has the entry now, not eventually.
        replica = connect(paired.url(paired.replica))
        try:
            assert await replica.xrange(ALERT_STREAM, entry_id, entry_id)
        finally:
            await replica.aclose()


@pytest.mark.parametrize("durability", [Durability.PRIMARY, Durability.AOF])
async def test_levels_without_a_replica_need_none(
    to_alone: ArqRedis, durability: Durability
) -> None:
    assert await alert_stream(to_alone, durability).append([alert(f"alone-{durability}")])


@pytest.mark.parametrize("durability", REPLICATED)
async def test_replicated_levels_without_a_replica_are_not_durable(
    to_alone: ArqRedis, durability: Durability
) -> None:
    with pytest.raises(NotDurable, match=f"not confirmed by {durability.value} within 1500 ms"):
        await alert_stream(to_alone, durability).append([alert(f"unconfirmed-{durability}")])


async def test_a_webhook_not_durable_yet_is_a_503_to_retry(
    to_alone: ArqRedis, clock: ManualClock
) -> None:
    registry = CollectorRegistry()
    webhooks = Webhooks(
        integrations=[GENERIC],
        stream=alert_stream(to_alone, Durability.REPLICA),
        registry=registry,
        clock=clock,
    )
    app = web.Application()
    add_routes(app, webhooks)
    async with TestClient(TestServer(app)) as client:
        response = await client.post(
            "/v1/webhooks/generic/gen-s3cret", json={"summary": "disk full", "severity": "critical"}
        )
        body = await response.json()
    assert response.status == 503, body
    assert response.headers["Retry-After"] == "5"
    assert body == {
        "error": "not stored durably in time: not confirmed by replica within 1500 ms; "
        "retry later (a repeat is deduplicated)"
    }
    sample = {"reason": "not_durable"}
    assert registry.get_sample_value("tocsin_webhooks_rejected_total", sample) == 1
