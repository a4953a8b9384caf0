"""An alert on several routes (``continue``), through the router on a real Valkey: one
incident per route, applied in one step, and retried whole without counting twice."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.keys import ALERT_STREAM
from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream
from router import keys
from router.config import RoutingConfig
from router.consumer import Router
from router.grouping import group_key
from router.models import IncidentEventKind
from router.store import IncidentStore
from tests.conftest import ManualClock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

ROUTING = RoutingConfig.model_validate(
    {
        "routes": [
            {
                "name": "audit",
                "matchers": ["__integration__=prod-am"],
                "policy": "audit",
                "service": "Audit trail",
                "continue": True,
            },
            {
                "name": "payments",
                "match": {"service": "payments"},
                "policy": "payments",
                "group_by": ["cluster"],
                "routes": [{"matchers": ['severity=~"critical|error"'], "service": "Checkout"}],
            },
        ]
    }
)


def alert(status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(
        dedup_key="checkout-errors",
        status=status,
        summary="Checkout error rate above 5%",
        labels={"service": "payments", "cluster": "eu1", "severity": "critical"},
        integration="prod-am",
        source="alertmanager",
        received_at=T0,
    )


async def make_router(redis: Redis) -> tuple[Router, CollectorRegistry]:
    registry = CollectorRegistry()
    # A failed entry is due again at once: the test decides when the router steps.
    router = Router(
        redis,
        ROUTING,
        "r1",
        registry,
        ManualClock(),
        block=timedelta(milliseconds=10),
        retry_after=timedelta(0),
    )
    await router.alerts.ensure_group(keys.CONSUMER_GROUP)
    return router, registry


def outcomes(registry: CollectorRegistry) -> dict[str, float]:
    counted = {}
    for outcome in ("opened", "joined", "duplicate", "incident_resolved"):
        value = registry.get_sample_value("tocsin_router_alerts_total", {"outcome": outcome})
        if value:
            counted[outcome] = value
    return counted


async def announced(store: IncidentStore) -> list[tuple[str, IncidentEventKind]]:
    group = f"probe-{uuid4().hex}"
    await store.events.ensure_group(group)
    entries = await store.events.read(group, "probe", count=100, block=None)
    return [(e.model.incident_id, e.model.kind) for e in entries if e.model is not None]


async def pending(redis: Redis) -> int:
    return int((await redis.xpending(ALERT_STREAM, keys.CONSUMER_GROUP))["pending"])


async def test_an_alert_with_continue_opens_an_incident_on_each_route_in_one_step(
    redis: Redis,
) -> None:
    await alert_stream(redis).append([alert()])
    router, registry = await make_router(redis)
    store = IncidentStore(redis)

    assert await router.step() == 1

    assert await pending(redis) == 0
    incidents = {incident.route: incident for incident in await store.list()}
    assert set(incidents) == {"audit", "payments.1"}
    audit, checkout = incidents["audit"], incidents["payments.1"]
    assert (audit.policy, audit.service, audit.group_labels) == ("audit", "Audit trail", {})
    assert (checkout.policy, checkout.service) == ("payments", "Checkout")
    assert checkout.group_labels == {"cluster": "eu1"}
    for incident in (audit, checkout):
        records, _ = await store.alerts(incident.id)
        assert [record.dedup_key for record in records] == ["checkout-errors"]
    assert sorted(await announced(store)) == sorted(
        [(audit.id, IncidentEventKind.OPENED), (checkout.id, IncidentEventKind.OPENED)]
    )
    assert outcomes(registry) == {"opened": 2}

    await alert_stream(redis).append([alert(AlertStatus.RESOLVED)])
    assert await router.step() == 1
    assert outcomes(registry) == {"opened": 2, "incident_resolved": 2}


async def test_a_route_that_fails_retries_the_entry_and_the_others_see_a_duplicate(
    redis: Redis,
) -> None:
    # The payments route's open incident is unreadable: its script call fails, the audit
    # route's succeeds, and the entry as a whole must be tried again.
    checkout = ROUTING.tree[1].children[0].resolved
    broken = keys.open_group(group_key(alert(), checkout))
    await redis.set(broken, "99")
    await redis.set(keys.incident("99"), "not json")
    await alert_stream(redis).append([alert()])
    router, registry = await make_router(redis)
    store = IncidentStore(redis)

    assert await router.step() == 0

    assert await pending(redis) == 1
    assert [incident.route for incident in await store.list()] == ["audit"]
    assert outcomes(registry) == {}

    await redis.delete(broken, keys.incident("99"))
    assert await router.step() == 1

    assert await pending(redis) == 0
    incidents = {incident.route: incident for incident in await store.list()}
    assert set(incidents) == {"audit", "payments.1"}
    assert outcomes(registry) == {"duplicate": 1, "opened": 1}
    records, _ = await store.alerts(incidents["audit"].id)
    assert [record.count for record in records] == [1]
